"""Re-record ``fixtures/streams/`` from a live Airflow and show what changed.

    python -m conformance record [--airflow-target NAME] [--out DIR] [--check] [--new-in VERSION]

Runs every case that applies to the server's version once against the target (the same
session the suite uses: one run per fixture DAG, all streams concurrent), writes one transcript
per case plus the manifest, and prints a unified diff of each transcript's normalised form
against the committed one (see ``conformance.clientkit.recordings`` for what is normalised). Only
transcripts that differ are rewritten. With ``--check`` nothing is written and the exit code is
1 when anything differs, for use in CI.

Each case is recorded on the oldest Airflow it applies to: most on 3.3.2, and with
``--new-in 3.4.0`` on a 3.4 build only the cases whose clauses are all new in 3.4 (loops).
The manifest keeps the other cases' entries, and every entry names the version it was
recorded from.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from packaging.version import InvalidVersion

from conformance import settings
from conformance.arguments import Parser
from conformance.catalog.cases import applicable_cases, cases_new_in, load_cases
from conformance.catalog.expectations import divergences_for
from conformance.catalog.versions import release
from conformance.clientkit.recordings import diff, manifest_entry, streams_dir, to_fixture
from conformance.live import progress
from conformance.live.airflow_api import AirflowAPIError
from conformance.live.session import prepare
from conformance.schemas import schema_id
from conformance.targets import TargetError, make_target


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m conformance record", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--airflow-target", default=None, help="local (default), external; or AIRFLOW_CONFORMANCE_TARGET"
    )
    parser.add_argument(
        "--out", type=Path, default=streams_dir(), help="where the transcripts live (default: %(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a recording differs")
    parser.add_argument(
        "--new-in",
        metavar="VERSION",
        type=release_argument,
        default=None,
        help="only the cases whose clauses all apply from this release on (e.g. 3.4.0)",
    )
    args = parser.parse_args(argv)

    progress.to_stream(sys.stderr, prefix="record: ")
    all_cases = load_cases()
    cases = (
        all_cases if args.new_in is None else {case.id: case for case in cases_new_in(all_cases.values(), args.new_in)}
    )
    try:
        given = settings.read()
        target = make_target(args.airflow_target, given)
        progress.step(f"starting the {target.name} target")
        with target.start() as connection, tempfile.TemporaryDirectory() as folder:
            session = prepare(connection, cases.values(), Path(folder), given.runs_in_flight)
            run_ids, version, database = session.run_ids, session.airflow_version, session.database
            if session.feature_absent:
                raise TargetError(
                    f"Airflow {version} lacks the DAG Result feature ({session.feature_absent}); there is nothing to record"
                )
            recorded = {
                case.id: to_fixture(session.transcript(case.id), case, run_ids[case.dag_id], version)
                for case in applicable_cases(cases.values(), version)
            }
            if not recorded:
                raise TargetError(
                    f"No case applies to Airflow {version}{f' among those new in {args.new_in}' if args.new_in else ''}; there is nothing to record"
                )
    except (TargetError, AirflowAPIError) as exc:
        print(f"record: {exc}", file=sys.stderr)
        return 4

    changed = []
    for case_id, fixture in recorded.items():
        path = args.out / f"{case_id}.json"
        committed = json.loads(path.read_text()) if path.exists() else None
        if lines := diff(committed, fixture, path.name):
            changed.append(case_id)
            print("\n".join(lines))
    print(
        f"record: {len(recorded)} transcripts from Airflow {version}; {len(changed)} differ from {args.out}",
        file=sys.stderr,
    )
    if args.check:
        return 1 if changed else 0

    # Only what differs is rewritten: poll lines and timings change on every recording, and
    # rewriting unchanged cases would bury the real change in noise.
    args.out.mkdir(parents=True, exist_ok=True)
    for case_id in changed:
        (args.out / f"{case_id}.json").write_text(json.dumps(recorded[case_id], indent=1) + "\n")
    manifest_path = args.out / "manifest.json"
    committed = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    kept = {entry["id"]: entry for entry in committed.get("cases", ())}
    divergences = divergences_for(version, database)
    entries = {case_id: manifest_entry(all_cases[case_id], divergences, version) for case_id in recorded}
    manifest = {
        "$schema": schema_id("stream-manifest.schema.json"),
        "airflow_version": committed.get("airflow_version", version),
        "database": committed.get("database", database),
        "cases": [
            entries.get(case_id) or kept[case_id] for case_id in all_cases if case_id in entries or case_id in kept
        ],
    }
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


def release_argument(text: str) -> str:
    try:
        release(text)
    except InvalidVersion:
        raise argparse.ArgumentTypeError(f"{text!r} is not a release number such as 3.4.0") from None
    return text


if __name__ == "__main__":
    sys.exit(main())
