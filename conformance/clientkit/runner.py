"""The client conformance runner: any /wait client, every replayed case, a verdict per case.

    python -m conformance clients [--json] [--case ID]... [--timeout S] [--speed X|max] [--jobs N]
                                  [--content-type TYPE] [--expect-failures FILE] -- CMD [ARGS...]

What Bowtie does for JSON Schema validators, for /wait clients in any language: it starts the
replay server (:mod:`conformance.clientkit.replay`) on loopback, runs ``CMD ARGS... URL`` once per case
(the contract is in :mod:`conformance.clientkit.case_run` and docs/client-authors.md), and compares what
the client did with the case's label: reject, or accept with a given terminal line. Each case
gets ``pass``, ``fail`` (with why) or ``error`` (timed out, killed, could not run).

The output is a table, one row per case, ending with the counts; ``--json`` prints the report
document instead (``schemas/clients-report.schema.json``). Recorded streams are replayed
without waiting unless ``--speed`` says otherwise; ``--timeout`` is per case, on top of the
case's replay time at that speed. ``--content-type TYPE`` has the replay server send
``Content-Type: TYPE`` on every 200 (``application/x-ndjson``: a server that fixed
STREAM-CONTENT-TYPE-1), where by default it sends none, as Airflow 3.3 does: a client that picks
its parser by that header behaves differently in the two worlds, and deserves a run in each.

The exit code is 0 when every case is as labelled and 1 otherwise. With ``--expect-failures
FILE`` (``{"failures": {"<case id>": "why", ...}}``,
``schemas/clients-expected-failures.schema.json``; a known-imperfect client's list, committed
beside it) it is 0 only when exactly the listed cases fail, none errs, and every other case
passes. Bad input (no command, an unknown case, a bad file, a command that cannot be started)
is one sentence and exit code 4.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
from jsonschema.exceptions import best_match

from conformance.arguments import USAGE_ERROR, Parser, split_at_double_dash
from conformance.clientkit.case_run import Judgement, Outcome, judge, run_client
from conformance.clientkit.replay import NDJSON, ReplayServer, parse_content_type, parse_speed, speed_value
from conformance.clientkit.replay_cases import ReplayCase, load_replay_cases, select
from conformance.schemas import validator

CLIENTS_VERSION = 1
VERDICTS = ("pass", "fail", "error")
PROG = "python -m conformance clients"


class UsageError(Exception):
    """Bad input the user can fix; the message is the sentence to print."""


@attrs.frozen
class ExpectedFailures:
    source: str
    failures: Mapping[str, str]  # case id -> why the client fails it


@attrs.frozen
class CaseResult:
    case: ReplayCase
    url: str
    outcome: Outcome
    judgement: Judgement
    expected_failure: bool


@attrs.frozen
class ClientsRun:
    command: tuple[str, ...]
    url: str
    speed: float
    timeout: float
    results: tuple[CaseResult, ...]
    expected: ExpectedFailures | None
    content_type: str | None = None  # what the replay server declared on every 200; None: nothing

    def of(self, verdict: str) -> list[CaseResult]:
        return [result for result in self.results if result.judgement.verdict == verdict]

    @property
    def unexpected_failures(self) -> list[str]:
        return [r.case.id for r in self.results if r.judgement.verdict != "pass" and not r.expected_failure]

    @property
    def unexpected_passes(self) -> list[str]:
        return [r.case.id for r in self.results if r.judgement.verdict == "pass" and r.expected_failure]

    def exit_code(self) -> int:
        return 0 if not (self.unexpected_failures or self.unexpected_passes or self.of("error")) else 1


def load_expected_failures(path: Path, cases: Mapping[str, ReplayCase]) -> ExpectedFailures:
    """A committed list of the cases a client is expected to fail; UsageError when it is not one."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(
            f"cannot read --expect-failures {path} ({exc.strerror}); give the path of a JSON file"
        ) from None
    except ValueError as exc:
        raise UsageError(f"--expect-failures {path} is not JSON ({exc}); fix the file") from None
    error = best_match(validator("clients-expected-failures.schema.json").iter_errors(document))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "the top level"
        raise UsageError(
            f"--expect-failures {path} is not a list of expected failures ({error.message} at {where}); "
            "see schemas/clients-expected-failures.schema.json"
        )
    unknown = [case_id for case_id in document["failures"] if case_id not in cases]
    if unknown:
        raise UsageError(
            f"--expect-failures {path} names {unknown[0]!r}, which is no case; "
            "python -m conformance replay --index lists them"
        )
    return ExpectedFailures(str(path), dict(document["failures"]))


def run_clients(
    command: Sequence[str],
    cases: Mapping[str, ReplayCase],
    *,
    speed: float = 0.0,
    timeout: float = 30.0,
    jobs: int = 1,
    expected: ExpectedFailures | None = None,
    content_type: str | None = None,
) -> ClientsRun:
    """Serve ``cases`` (every 200 with ``Content-Type: content_type`` when given) and run ``command`` on each.

    UsageError when the command cannot be started.
    """
    expected_ids = set(expected.failures) if expected else set()
    with ReplayServer(cases, speed=speed, content_type=content_type) as server:

        def one(case: ReplayCase) -> CaseResult:
            url = server.case_url(case.id)
            limit = timeout + (case.duration / speed if speed > 0 else 0.0)
            outcome = run_client(command, url, limit)
            return CaseResult(case, url, outcome, judge(case.label, outcome), case.id in expected_ids)

        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                results = tuple(pool.map(one, cases.values()))
        except (FileNotFoundError, PermissionError) as exc:
            raise UsageError(
                f"cannot run {shlex.join(command)} ({exc.strerror}); give a command that runs a client"
            ) from None
        return ClientsRun(tuple(command), server.url, speed, timeout, results, expected, content_type)


def report(run: ClientsRun) -> dict[str, Any]:
    """The machine document (clients-report.schema.json)."""
    return {
        "clients_version": CLIENTS_VERSION,
        "command": list(run.command),
        "replay": {"url": run.url, "speed": speed_value(run.speed), "content_type": run.content_type},
        "timeout_s": run.timeout,
        "expected_failures": None
        if run.expected is None
        else {
            "source": run.expected.source,
            "ids": [r.case.id for r in run.results if r.expected_failure],
        },
        "counts": {verdict: len(run.of(verdict)) for verdict in VERDICTS},
        "unexpected_failures": run.unexpected_failures,
        "unexpected_passes": run.unexpected_passes,
        "exit_code": run.exit_code(),
        "cases": [
            {
                "id": r.case.id,
                "kind": r.case.kind,
                "url": r.url,
                "label": {
                    "verdict": r.case.label.verdict,
                    "expect": dict(r.case.label.expect) if r.case.label.expect is not None else None,
                    "source": r.case.label.source,
                },
                "verdict": r.judgement.verdict,
                "why": r.judgement.why,
                "expected_failure": r.expected_failure,
                "client": {
                    "exit_code": r.outcome.exit_code,
                    "timed_out": r.outcome.timed_out,
                    "duration_s": round(r.outcome.duration, 3),
                    "said": r.judgement.said,
                    "stderr_tail": r.outcome.stderr_tail,
                },
            }
            for r in run.results
        ],
    }


def _ending(run: ClientsRun) -> str:
    counts = ", ".join(f"{len(run.of(verdict))} {verdict}" for verdict in VERDICTS)
    head = f"{len(run.results)} cases: {counts}"
    code = run.exit_code()
    if code == 0 and run.expected is None:
        return f"{head}: every case as labelled (exit 0)"
    if code == 0:
        listed = len([r for r in run.results if r.expected_failure])
        return f"{head}: exactly the {listed} expected failures of {run.expected.source} (exit 0)"
    problems = []
    if run.unexpected_failures:
        problems.append(f"not as labelled: {', '.join(run.unexpected_failures)}")
    if run.unexpected_passes:
        problems.append(f"listed as expected failures but passed: {', '.join(run.unexpected_passes)}")
    errors = [r.case.id for r in run.of("error") if r.expected_failure]
    if errors:
        problems.append(f"errors among the expected failures: {', '.join(errors)}")
    return f"{head}; {'; '.join(problems)} (exit 1)"


def table(run: ClientsRun) -> str:
    """One row per case (verdict, case, label, what happened), then the counts and the exit code."""
    pace = "no waiting" if run.speed == 0 else f"speed {run.speed:g}"
    declared = "no Content-Type" if run.content_type is None else f"Content-Type: {run.content_type}"
    lines = [
        f"clients: {shlex.join(run.command)} URL",
        f"replay: {len(run.results)} cases at {run.url} ({pace}; {declared} on a 200), timeout {run.timeout:g} s a case",
        "",
    ]
    width = max((len(r.case.id) for r in run.results), default=4)
    for r in run.results:
        verdict = r.judgement.verdict if r.judgement.verdict == "pass" else r.judgement.verdict.upper()
        detail = r.judgement.why if r.judgement.why is not None else (r.judgement.said or "")
        mark = "  (expected failure)" if r.expected_failure else ""
        lines.append(f"  {verdict:<5}  {r.case.id:<{width}}  {r.case.label.verdict:<6}  {detail}{mark}".rstrip())
    return "\n".join([*lines, "", _ending(run)]) + "\n"


def parser() -> Parser:
    result = Parser(
        prog=PROG,
        description=__doc__.split("\n\n")[0],
        usage=f"{PROG} [-h] [--json] [--case ID]... [--timeout S] [--speed X|max] [--jobs N] [--content-type TYPE] "
        "[--expect-failures FILE] -- CMD [ARGS...]",
    )
    result.add_argument(
        "--json",
        action="store_true",
        help="print the report document (schemas/clients-report.schema.json) instead of the table",
    )
    result.add_argument(
        "--case",
        action="append",
        default=[],
        metavar="ID",
        help="only this case (repeatable; replay --index lists them)",
    )
    result.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds a client may take on a case, beyond its replay time (default 30)",
    )
    result.add_argument(
        "--speed",
        type=parse_speed,
        default=0.0,
        metavar="X|max",
        help="replay pacing: a factor (1 = as recorded) or max, the default",
    )
    result.add_argument("--jobs", type=int, default=1, metavar="N", help="cases run at once (default 1)")
    result.add_argument(
        "--content-type",
        type=parse_content_type,
        metavar="TYPE",
        help=f"the replay server sends Content-Type: TYPE on every 200 (e.g. {NDJSON}, as a fixed Airflow would); default: none, as Airflow 3.3 sends",
    )
    result.add_argument(
        "--expect-failures", type=Path, metavar="FILE", help="exit 0 only when exactly the cases listed in FILE fail"
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    ours, command = split_at_double_dash(list(sys.argv[1:] if argv is None else argv))
    args = parser().parse_args(ours)
    try:
        if not command:
            raise UsageError("name the client command after --, e.g. -- python -m conformance.reference_client")
        if args.timeout <= 0 or args.jobs < 1:
            raise UsageError("--timeout must be above 0 and --jobs at least 1; give e.g. --timeout 30 --jobs 1")
        every = load_replay_cases()
        try:
            cases = select(every, args.case)
        except KeyError as exc:
            raise UsageError(f"{exc.args[0]!r} is no case; python -m conformance replay --index lists them") from None
        expected = load_expected_failures(args.expect_failures, every) if args.expect_failures else None
        run = run_clients(
            command,
            cases,
            speed=args.speed,
            timeout=args.timeout,
            jobs=args.jobs,
            expected=expected,
            content_type=args.content_type,
        )
    except UsageError as exc:
        print(f"{PROG}: {exc}.", file=sys.stderr)
        return USAGE_ERROR
    if args.json:
        print(json.dumps(report(run), indent=1))
    else:
        print(table(run), end="")
    return run.exit_code()
