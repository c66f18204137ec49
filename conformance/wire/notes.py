"""Notes: what a run saw that is no failure, and still worth a reader's look.

A conformance failure must mean "the server is wrong". A server may also do things no clause
judges and no client should mind, which a platform team still wants to hear about before an
upgrade: a key on a /wait line that no clause knows (a later Airflow adding one, which
CLIENTS.md's CLIENT-LINE-3 tells clients to ignore), a member of an error body besides
``detail``. Such a thing is a *note*: it never changes a verdict or the exit code, it is listed
in ``report.json`` (top-level ``notes``, ``schemas/report.schema.json`` ``$defs/note``), in the
terminal summary and in report.html, and ``compare`` lists the notes that appear or go away.

A server whose version the suite never measured is told so by notes too
(:mod:`conformance.report.unmeasured`): what was measured elsewhere is said, never assumed, so its
failures stay failures and each carries what the nearest measured version declared.

A note is identified by its ``kind``, the ``clause`` it was seen under (or None) and its
``subject`` (what it is about): the same note seen by many tests is one note with the evidence
of each. A note about the run as a whole (clause None) has the session as its one witness
(:data:`SESSION`). The kinds:

======================== =======================================================================
``unknown-key``          a /wait line carries a top-level key no clause knows (subject: the key)
``unknown-error-member`` a 4xx error body carries a member besides ``detail`` (subject: the member)
``unmeasured-version``   the server's Airflow version is none the suite was measured on
                         (expectations.yaml ``measured_versions``); clause None, subject: the
                         version; its message names the nearest measured version below it
``same-as-declared``     on such a version, a test of the clause failed as the nearest measured
                         version's declared divergence would have matched (subject: that
                         version); the test still fails, nothing declared is widened
======================== =======================================================================

A kind is added here, in the schema's enum and in the table above, never by a test on its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from conformance.verdicts import NOTE_KINDS
from conformance.wire.ndjson import KNOWN_KEYS

ERROR_MEMBERS = ("detail",)  # what schemas/http-error.schema.json knows of an error body
SESSION = "session"  # the witness ("test") of a note about the run as a whole


@attrs.frozen
class Note:
    """One note, before its evidence is gathered from the tests that saw it."""

    kind: str = attrs.field(validator=attrs.validators.in_(NOTE_KINDS))
    clause: str | None
    subject: str
    message: str


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
    return f"; if it was meant as {close[0]!r}, that key is missing" if close else ""


def unknown_key(key: str, clause: str) -> Note:
    """A /wait line key no clause knows, seen under ``clause``."""
    return Note(
        kind="unknown-key",
        clause=clause,
        subject=key,
        message=f"/wait lines carry the key {key!r}, which no clause knows: clients ignore it (CLIENTS.md, CLIENT-LINE-3)"
        + _did_you_mean(key, KNOWN_KEYS),
    )


def unknown_error_member(member: str, clause: str) -> Note:
    """An error body member besides ``detail``, seen under ``clause``."""
    return Note(
        kind="unknown-error-member",
        clause=clause,
        subject=member,
        message=f"error bodies carry the member {member!r} besides detail: clients ignore it (CLIENTS.md, CLIENT-LINE-3)"
        + _did_you_mean(member, ERROR_MEMBERS),
    )


def unmeasured_version(version: str, nearest: str | None) -> Note:
    """The server's version is none the suite was measured on; ``nearest`` the measured one below it."""
    below = f"the nearest measured version below it is {nearest}" if nearest else "no measured version lies below it"
    return Note(
        kind="unmeasured-version",
        clause=None,
        subject=version,
        message=f"Airflow {version} was never measured by this suite; {below}",
    )


def same_as_declared(clause: str, nearest: str) -> Note:
    """A failure of ``clause`` on an unmeasured version that ``nearest``'s declared divergence would match."""
    return Note(
        kind="same-as-declared",
        clause=clause,
        subject=nearest,
        message=f"same as declared for {nearest}: measure it on this version and extend the entry",
    )


def as_json(note: Note, detail: str) -> dict[str, Any]:
    """A note as one test records it: the note and where that test saw it."""
    return {**attrs.asdict(note), "detail": detail}


def gather(seen: Iterable[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The report's notes from (test node id, recorded note) pairs: one entry per identity, in
    order of first sight, with the evidence of every test that saw it."""
    notes: dict[tuple[Any, ...], dict[str, Any]] = {}
    for nodeid, recorded in seen:
        entry = notes.setdefault(
            identity_of(recorded),
            {key: recorded[key] for key in ("kind", "clause", "subject", "message")} | {"evidence": []},
        )
        entry["evidence"].append({"test": nodeid, "detail": recorded["detail"]})
    return list(notes.values())


def identity_of(note: Mapping[str, Any]) -> tuple[Any, ...]:
    """What tells two notes apart, across reports too."""
    return (note["kind"], note["clause"], note["subject"])


def summary_line(note: Mapping[str, Any]) -> str:
    """A note in one line, for a terminal or a log."""
    where = f" [{note['clause']}]" if note["clause"] else ""
    seen = len(note["evidence"])
    return f"{note['kind']}{where}: {note['message']} (seen by {seen} test{'s' * (seen != 1)})"
