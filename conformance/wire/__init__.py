"""What travels on the wire, judged offline: NDJSON lines, streams, their checks and notes.

Pure functions and data types over bytes, lines and timings; no Airflow, no pytest.
"""
