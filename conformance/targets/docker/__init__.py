"""The container target's parts that need Docker: what its containers are made of, the engine
calls (through testcontainers), and the PostgreSQL and Celery topologies.

Only :mod:`conformance.targets.container` imports them, and only when that target is chosen:
they need the ``container`` extra.
"""
