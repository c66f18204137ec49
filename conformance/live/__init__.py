"""A run against a live Airflow: its REST API, the session's fixture runs and streams, progress."""
