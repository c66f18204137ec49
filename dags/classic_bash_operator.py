"""A BashOperator's `.output` (its last stdout line) returned from `@dag` is the result."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import dag


@dag(schedule=None, tags=["conformance"])
def classic_bash_operator():
    return BashOperator(task_id="say", bash_command="echo first; echo from-bash").output


classic_bash_operator()
