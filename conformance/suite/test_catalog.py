"""The suite and clauses.yaml agree: every clause tested, every named clause known."""

import pytest

from conformance.plugin.hooks import catalog_problems, whole_suite_collected


@pytest.mark.meta
def test_catalog_and_suite_agree(request):
    if not whole_suite_collected(request.config):
        pytest.skip("only part of the suite was collected; coverage is checked on full runs")
    assert catalog_problems(request.config) == []
