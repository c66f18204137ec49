"""The specification as data: clauses, cases, declared divergences, versions, selections.

Reads clauses.yaml, expectations.yaml and fixtures/; never talks to an Airflow.
"""
