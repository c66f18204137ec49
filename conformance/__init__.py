"""Conformance suite and reference fixtures for Apache Airflow's DAG Result feature.

The harness (targets, client, stream recorder, catalog) is a library; the pytest suite in
``conformance.suite`` calls it. Language-neutral data lives beside it: ``schemas/``,
``fixtures/`` and the fixture DAGs in ``dags/``.
"""

__version__ = "0.1.0"
