"""`.expand` over [3, 1, 2], doubling, each instance sleeping in proportion to its input.

Map-index order gives [6, 2, 4]; value order would give [2, 4, 6]; completion order
(shortest sleep first) would give [2, 4, 6] too — so only map-index order passes.
"""

import time

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def mapped_expand():
    @result
    @task
    def double(x):
        time.sleep(x * 0.4)
        return x * 2

    double.expand(x=[3, 1, 2])


mapped_expand()
