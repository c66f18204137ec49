"""CLIENTS.md names real fixture cases, cites every negative case, and the clients name real rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conformance.paths import fixtures_dir

REPO = Path(__file__).resolve().parents[1]
RULES_TEXT = (REPO / "CLIENTS.md").read_text()
RULE_HEADING = re.compile(r"^### (CLIENT-[A-Z]+-\d+): \S", re.MULTILINE)
CASE_ID = re.compile(r"`([a-z0-9]+(?:-[a-z0-9]+)*)`")
NEGATIVE = {case["id"] for case in json.loads((fixtures_dir() / "negative-streams.json").read_text())["cases"]}
RECORDED = {entry["id"] for entry in json.loads((fixtures_dir() / "streams" / "manifest.json").read_text())["cases"]}


def rules() -> dict[str, str]:
    """Each rule's id and its text, up to the next heading."""
    parts = re.split(r"^(?=##)", RULES_TEXT, flags=re.MULTILINE)
    found = {}
    for part in parts:
        match = RULE_HEADING.match(part)
        if match:
            assert match.group(1) not in found, f"{match.group(1)} appears twice"
            found[match.group(1)] = part
    return found


def cited(kind: str) -> dict[str, set[str]]:
    """The case ids each rule lists on its ``- negative:`` or ``- recorded:`` bullet (continuations included)."""
    bullet = re.compile(rf"^- {kind}:(.*(?:\n  .*)*)", re.MULTILINE)
    return {
        rule: {case for match in bullet.finditer(text) for case in CASE_ID.findall(match.group(1))}
        for rule, text in rules().items()
    }


def test_rule_ids_are_stable_shaped_and_there_are_rules_for_each_topic_of_the_issue():
    ids = set(rules())
    assert len(ids) >= 20
    for topic in ("FRAMING", "BLANK", "JSON", "TERMINAL", "ERROR", "TIMEOUT", "ORDER", "GZIP", "HTTP"):
        assert any(rule.startswith(f"CLIENT-{topic}-") for rule in ids), topic


def test_every_cited_case_exists():
    assert {rule: cases - NEGATIVE for rule, cases in cited("negative").items() if cases - NEGATIVE} == {}
    assert {rule: cases - RECORDED for rule, cases in cited("recorded").items() if cases - RECORDED} == {}


def test_every_negative_case_is_cited_by_a_rule():
    uncited = NEGATIVE - set().union(*cited("negative").values())
    assert uncited == set(), "say in CLIENTS.md which rule each of these cases exercises"


def test_every_rule_names_its_cases_or_says_every_stream():
    bare = [rule for rule, text in rules().items() if not re.search(r"^- (negative|recorded):", text, re.MULTILINE)]
    assert bare == []


def test_the_clients_cite_only_rules_that_exist():
    sources = [REPO / "conformance" / "clientkit" / "reference_client.py", *sorted((REPO / "npm" / "src").glob("*.ts"))]
    named = {rule for path in sources for rule in re.findall(r"CLIENT-[A-Z]+-\d+", path.read_text())}
    assert named - set(rules()) == set()
    assert {"CLIENT-BLANK-1", "CLIENT-TERMINAL-1", "CLIENT-ERROR-1", "CLIENT-LINE-2"} <= named


def test_each_reference_client_names_the_line_rules_in_its_checks():
    """Both clients check a line's shape, results only at the end, and ignore unknown keys, each saying which rule."""
    clients = {
        "python": [REPO / "conformance" / "clientkit" / "reference_client.py"],
        "typescript": sorted((REPO / "npm" / "src").glob("*.ts")),
    }
    for name, sources in clients.items():
        named = {rule for path in sources for rule in re.findall(r"CLIENT-[A-Z]+-\d+", path.read_text())}
        assert {"CLIENT-LINE-1", "CLIENT-LINE-2", "CLIENT-LINE-3", "CLIENT-ERROR-1"} <= named, name


def test_an_id_is_never_given_a_new_requirement():
    """The promise that keeps ids stable is written down, and the unknown-key rule kept to it: a new id, CLIENT-LINE-1 narrowed."""
    assert "never given a new requirement; a new requirement gets a new id" in " ".join(RULES_TEXT.split())
    assert "no other key" not in rules()["CLIENT-LINE-1"]
    assert "extra-top-level-key" in cited("negative")["CLIENT-LINE-3"]


def test_the_blank_line_rule_and_the_digest_unit_are_defined():
    blank = rules()["CLIENT-BLANK-1"]
    assert all(code in blank for code in ("U+0020", "U+0009", "U+000D", "U+00A0", "U+FEFF"))
    assert "Unicode code points" in RULES_TEXT and "string_digests" in RULES_TEXT


def test_client_authors_doc_points_to_the_rules():
    assert "../CLIENTS.md" in (REPO / "docs" / "client-authors.md").read_text()
