"""The suite's one vocabulary of outcomes: clause verdicts, the changes between two runs, notes.

Every reader asks the same few questions of a verdict: did the clause pass, does it need a
person's attention, was it judged at all, is it a false failure when the server was not changed.
They used to answer them with sets of their own (the report, its HTML, compare, the step
summary, the mutant check, the soak), each choosing "needs attention" its own way; here each
question has one answer. Reports carry verdicts as strings, and a newer report may carry one
this suite does not know, so the predicates take strings.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """A clause's verdict in one run, worst first (the order reports and summaries list them in)."""

    FAIL = "fail"
    UNEXPECTED_PASS = "unexpected-pass"  # the tests passed; the declared divergence is stale
    ABSENT = "absent"  # measured: the server lacks the DAG Result feature
    EXPECTED_DIVERGENCE = "expected-divergence"  # declared in expectations.yaml for this version
    PASS = "pass"
    UNTESTED = "untested"  # no test of it could run here
    NOT_APPLICABLE = "not-applicable"  # declared: since/until exclude this version
    NOT_SELECTED = "not-selected"  # outside the run's --clause/--area/--level

    @property
    def label(self) -> str:
        """How a person reads it: ``unexpected pass``."""
        return self.value.replace("-", " ")


VERDICTS = tuple(verdict.value for verdict in Verdict)  # worst first
LABELS = {verdict.value: verdict.label for verdict in Verdict}
MISSING = "missing"  # compare's verdict for a clause one of the two reports does not list
ERROR = "error"  # the soak's verdict for a clause of a run that ended without one

_PASSING = {Verdict.PASS, Verdict.UNEXPECTED_PASS}
_NEEDS_ATTENTION = {Verdict.FAIL, Verdict.UNEXPECTED_PASS}
_NOT_JUDGED = {Verdict.UNTESTED, Verdict.NOT_APPLICABLE, Verdict.NOT_SELECTED}


def passing(verdict: str) -> bool:
    """The clause's tests passed against the server (an unexpected pass too: only its declaration was stale)."""
    return verdict in _PASSING


def needs_attention(verdict: str) -> bool:
    """Someone must act: the server broke a clause, or a declared divergence is gone.

    This is what fails a run (exit 1), what the step summary flags and what says the mutant
    check caught a mutant.
    """
    return verdict in _NEEDS_ATTENTION


def judged(verdict: str) -> bool:
    """A test of the clause was judged in that run, whatever it found: every verdict but untested,
    not applicable and not selected (an ``error`` too: the run was meant to judge it)."""
    return verdict not in _NOT_JUDGED


def false_failure(verdict: str) -> bool:
    """On an Airflow nobody changed, this verdict can only be the suite's fault (the soak's count)."""
    return needs_attention(verdict) or verdict == ERROR


def not_passing(verdict: str) -> bool:
    """Not known to hold: a failure, or a clause not checked (absent, untested, not applicable or
    selected, missing). A declared divergence is neither: it is what compare's flag decides."""
    return not passing(verdict) and verdict != Verdict.EXPECTED_DIVERGENCE


TEST_OUTCOMES = {  # a test's outcome -> the clause verdict it leads to (and is coloured like)
    "passed": Verdict.PASS.value,
    "failed": Verdict.FAIL.value,
    "skipped": Verdict.UNTESTED.value,
    "expected-divergence": Verdict.EXPECTED_DIVERGENCE.value,
    "unexpected-pass": Verdict.UNEXPECTED_PASS.value,
}
# a clause verdict that needs attention -> the outcome of the tests behind it
ATTENTION_OUTCOMES = {verdict: outcome for outcome, verdict in TEST_OUTCOMES.items() if needs_attention(verdict)}


class Change(StrEnum):
    """How a clause's verdict changed from one run to another (``conformance compare``), in the
    order compare lists them."""

    REGRESSION = "regression"  # the only kind that fails the upgrade gate
    PERSISTING_DIVERGENCE = "persisting-divergence"  # a declared divergence, failing on a version never measured
    NEW_FAILURE = "new-failure"
    DIVERGENCE_APPEARED = "divergence-appeared"
    GONE = "gone"
    CHANGED = "changed"
    NEW = "new"
    DIVERGENCE_GONE = "divergence-gone"
    IMPROVEMENT = "improvement"


CHANGES = tuple(change.value for change in Change)
CHANGE_NOUNS = {  # one, several
    Change.REGRESSION: ("regression", "regressions"),
    Change.PERSISTING_DIVERGENCE: ("persisting divergence", "persisting divergences"),
    Change.NEW_FAILURE: ("new failure", "new failures"),
    Change.DIVERGENCE_APPEARED: ("divergence appeared", "divergences appeared"),
    Change.GONE: ("clause gone", "clauses gone"),
    Change.CHANGED: ("other change", "other changes"),
    Change.NEW: ("new clause", "new clauses"),
    Change.DIVERGENCE_GONE: ("divergence gone", "divergences gone"),
    Change.IMPROVEMENT: ("improvement", "improvements"),
}


class NoteKind(StrEnum):
    """What a run saw that is no failure (:mod:`conformance.wire.notes`): never a verdict, never the exit code."""

    UNKNOWN_KEY = "unknown-key"  # a /wait line key no clause knows
    UNKNOWN_ERROR_MEMBER = "unknown-error-member"  # an error body member besides detail
    UNMEASURED_VERSION = "unmeasured-version"  # the server's version is none the suite measured
    SAME_AS_DECLARED = "same-as-declared"  # a failure the nearest measured version declares


NOTE_KINDS = tuple(kind.value for kind in NoteKind)
