"""fixtures/upstream-coverage.json matches its schema, names only real clauses and read sources, and
docs/upstream-coverage.md counts it as it is."""

import json
import re
from collections import Counter
from pathlib import Path

from conformance.catalog.clauses import load_clauses
from conformance.paths import fixtures_dir
from conformance.schemas import schema_id, validator_for

REPO = Path(__file__).resolve().parents[1]
DOCUMENT = json.loads((fixtures_dir() / "upstream-coverage.json").read_text())
PAGE = (REPO / "docs" / "upstream-coverage.md").read_text()
ENTRIES = DOCUMENT["entries"]

# The rows of the page's count table, each with the entries it counts.
ROWS = {
    "covered: full": lambda e: e.get("coverage") == "full",
    "covered: partial": lambda e: e.get("coverage") == "partial",
    "covered: effect": lambda e: e.get("coverage") == "effect",
    "covered: opposite": lambda e: e.get("coverage") == "opposite",
    "not covered: out of scope": lambda e: e.get("not_covered", "").startswith("out of scope: "),
    "not covered: not reachable from outside": lambda e: e.get("not_covered", "").startswith(
        "not reachable from outside: "
    ),
    "not covered: not yet a clause": lambda e: e.get("not_covered", "").startswith("not yet a clause: "),
    "all": lambda e: True,
}


def section(heading: str) -> str:
    """The text of the page's ``## heading`` section, up to the next one."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", PAGE, re.MULTILINE | re.DOTALL)
    assert match, f"docs/upstream-coverage.md has no section {heading!r}"
    return match.group(1)


def title_of(entry: dict) -> str:
    [title] = [
        s["title"]
        for s in DOCUMENT["sources"]
        if (s["upstream"], s["read_at"]) == (entry["upstream"], entry["read_at"])
    ]
    return title


def test_the_file_names_its_schema_and_matches_it():
    assert DOCUMENT["$schema"] == schema_id("upstream-coverage.schema.json")
    assert [f"{list(e.absolute_path)}: {e.message}" for e in validator_for(DOCUMENT).iter_errors(DOCUMENT)] == []


def test_every_clause_named_is_in_the_catalog():
    catalog = load_clauses()
    named = {clause for entry in ENTRIES for clause in entry.get("clauses", [])}
    assert named - set(catalog) == set()


def test_every_entry_was_read_from_a_listed_source_and_sources_are_distinct():
    read = [(s["upstream"], s["read_at"]) for s in DOCUMENT["sources"]]
    assert len(read) == len(set(read))
    assert {(e["upstream"], e["read_at"]) for e in ENTRIES} <= set(read)


def test_no_assertion_is_tabled_twice():
    keys = Counter((e["upstream"], e["read_at"], e["where"], e["kind"], e["asserts"]) for e in ENTRIES)
    assert [key for key, count in keys.items() if count > 1] == []


def count_table() -> tuple[list[str], dict[str, list[int]]]:
    """The page's count table: its column titles and, per row label, its numbers."""
    lines = [line for line in section("Counts").splitlines() if line.startswith("|")]
    header, _rule, *rows = ([cell.strip() for cell in line.strip("|").split("|")] for line in lines)
    return header[1:], {row[0]: [int(cell) for cell in row[1:]] for row in rows}


def test_the_page_counts_the_entries_as_they_are():
    columns, table = count_table()
    titles = list(dict.fromkeys(s["title"] for s in DOCUMENT["sources"]))
    assert columns == [*titles, "all"]
    assert list(table) == list(ROWS)
    expected = {
        label: [sum(1 for e in ENTRIES if keep(e) and title_of(e) == title) for title in titles]
        + [sum(1 for e in ENTRIES if keep(e))]
        for label, keep in ROWS.items()
    }
    assert table == expected


def test_the_page_lists_every_entry_that_could_become_a_clause_in_order():
    bullets = [line for line in section("Could become clauses").splitlines() if line.startswith("- ")]
    candidates = [e["where"] for e in ENTRIES if e.get("not_covered", "").startswith("not yet a clause: ")]
    assert [re.match(r"- `([^`]+)`", bullet).group(1) for bullet in bullets] == candidates


def test_the_readme_points_at_the_page():
    assert "docs/upstream-coverage.md" in (REPO / "README.md").read_text()
