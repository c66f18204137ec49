"""Choosing part of the catalog: globs over ids, areas, levels, and one sentence for a mistake."""

import pytest

from conformance.catalog.clauses import Clause, load_clauses
from conformance.catalog.selection import WHOLE, Selection
from conformance.settings import read

CATALOG = {
    clause.id: clause
    for clause in (
        Clause(id="STREAM-NDJSON-1", level="MUST", area="stream", statement="s", source="doc"),
        Clause(id="STREAM-CADENCE-1", level="OBSERVED", area="timing", statement="s", source="observed"),
        Clause(id="RESULT-MAPPED-1", level="MUST", area="mapping", statement="s", source="doc"),
        Clause(id="RESULT-MAPPED-2", level="OBSERVED", area="mapping", statement="s", source="observed"),
    )
}


@pytest.mark.parametrize(
    ("selection", "selected"),
    [
        (Selection(clauses=["RESULT-MAPPED-1"]), ["RESULT-MAPPED-1"]),
        (Selection(clauses=["STREAM-*"]), ["STREAM-NDJSON-1", "STREAM-CADENCE-1"]),
        (Selection(clauses=["result-mapped-?"]), ["RESULT-MAPPED-1", "RESULT-MAPPED-2"]),
        (Selection(clauses=["STREAM-NDJSON-1,RESULT-MAPPED-2"]), ["STREAM-NDJSON-1", "RESULT-MAPPED-2"]),
        (Selection(areas=["mapping", "Timing"]), ["STREAM-CADENCE-1", "RESULT-MAPPED-1", "RESULT-MAPPED-2"]),
        (Selection(levels=["must"]), ["STREAM-NDJSON-1", "RESULT-MAPPED-1"]),
        (
            Selection(clauses=["STREAM-*", "RESULT-MAPPED-2"], levels=["OBSERVED"]),
            ["STREAM-CADENCE-1", "RESULT-MAPPED-2"],
        ),
        (Selection(areas=["mapping"], levels=["MUST"]), ["RESULT-MAPPED-1"]),
        (WHOLE, list(CATALOG)),
    ],
    ids=[
        "one-id",
        "glob",
        "any-case",
        "comma-separated",
        "areas-any",
        "level",
        "every-kind",
        "area-and-level",
        "whole",
    ],
)
def test_a_clause_is_selected_when_it_matches_every_kind_given(selection, selected):
    assert selection.selected(CATALOG) == selected
    assert selection.problem(CATALOG) is None


@pytest.mark.parametrize(
    ("selection", "sentence"),
    [
        (
            Selection(levels=["SHOULD"]),
            "level 'SHOULD' (--level or AIRFLOW_CONFORMANCE_LEVEL) is not a level of clauses.yaml; choose MUST or OBSERVED.",
        ),
        (
            Selection(areas=["maping"]),
            "area 'maping' (--area or AIRFLOW_CONFORMANCE_AREA) is not an area of clauses.yaml; the areas are stream, timing, mapping.",
        ),
        (
            Selection(clauses=["RESULT-MAPED-1"]),
            "clause 'RESULT-MAPED-1' (--clause or AIRFLOW_CONFORMANCE_CLAUSE) matches no clause id; did you mean RESULT-MAPPED-1 or RESULT-MAPPED-2?",
        ),
        (
            Selection(clauses=["LOOP-*"]),
            "clause 'LOOP-*' (--clause or AIRFLOW_CONFORMANCE_CLAUSE) matches no clause id; the ids are in conformance/clauses.yaml, and a glob such as 'STREAM-*' matches several.",
        ),
        (
            Selection(areas=["stream"], levels=["OBSERVED"]),
            "--area stream --level OBSERVED select no clause together (a clause must match every kind given); widen one of them.",
        ),
    ],
    ids=["unknown-level", "unknown-area", "close-id", "glob-matching-nothing", "kinds-exclude-each-other"],
)
def test_a_selection_that_selects_nothing_is_one_sentence(selection, sentence):
    assert selection.problem(CATALOG) == sentence


def test_one_bad_value_among_good_ones_is_still_named():
    assert "'NOPE-1'" in Selection(clauses=["STREAM-*", "NOPE-1"]).problem(CATALOG)


def test_variables_fill_in_the_kinds_the_command_line_leaves_out():
    environ = {"AIRFLOW_CONFORMANCE_CLAUSE": "STREAM-*, RESULT-MAPPED-1", "AIRFLOW_CONFORMANCE_LEVEL": "MUST"}
    from_environ = Selection.of(read(environ))
    assert (from_environ.clauses, from_environ.areas, from_environ.levels) == (
        ("STREAM-*", "RESULT-MAPPED-1"),
        (),
        ("MUST",),
    )
    overridden = Selection.of(read(environ, clause=["RESULT-MAPPED-2"]))
    assert (overridden.clauses, overridden.levels) == (("RESULT-MAPPED-2",), ("MUST",))
    assert Selection.of(read({})).whole


def test_the_report_form_round_trips_and_the_whole_suite_is_null():
    selection = Selection(clauses=["STREAM-*"], levels=["MUST"])
    assert selection.as_json() == {"clauses": ["STREAM-*"], "areas": [], "levels": ["MUST"]}
    assert Selection.from_json(selection.as_json()) == selection
    assert WHOLE.as_json() is None and Selection.from_json(None) == WHOLE
    assert selection.describe() == "--clause 'STREAM-*' --level MUST"
    assert WHOLE.describe() == "the whole suite"


def test_every_area_and_level_of_the_shipped_catalog_selects_something():
    catalog = load_clauses()
    for clause in catalog.values():
        for selection in (
            Selection(areas=[clause.area]),
            Selection(levels=[clause.level]),
            Selection(clauses=[clause.id]),
        ):
            assert selection.problem(catalog) is None and clause.id in selection.selected(catalog)
