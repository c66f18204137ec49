"""`dag.add_result(...)` on a task's output marks that task as the result, with neither `@result`
nor a `@dag` return: the way Airflow's own /wait tests (TestWaitDagRun) mark theirs, and what
`@result` calls underneath. A plain `with DAG(...) as dag:` file and classic operators, as
upstream's; only the marked task is reported, not the one it reads from.

`result` is imported and not used: on an Airflow without the feature (3.2, which has no
`DAG.add_result` either) the file then fails for want of `airflow.sdk.result`, as every other
fixture of the feature does, which the suite reads as the feature being absent rather than as a
deployment mistake (conformance/live/fixture_dags.py, feature_absence).
"""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, result  # noqa: F401  (see above)


def _fetch():
    return 42


def _double(value):
    return value * 2


with DAG(dag_id="result_add_result", schedule=None, tags=["conformance"]) as dag:
    fetch = PythonOperator(task_id="fetch", python_callable=_fetch)
    answer = PythonOperator(task_id="answer", python_callable=_double, op_args=[fetch.output])
    dag.add_result(answer.output)
