"""Re-record ``fixtures/streams/`` from a live Airflow and show what changed.

    python -m conformance.record [--airflow-target NAME] [--out DIR] [--check]

Runs every case once against the target (the same session the suite uses: one run per fixture
DAG, all streams concurrent), writes one transcript per case plus the manifest, and prints a
unified diff of each transcript's normalised form against the committed one (see
``conformance.recordings`` for what is normalised). Only transcripts that differ are rewritten. With ``--check`` nothing is written and the
exit code is 1 when anything differs, for use in CI.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from conformance import progress
from conformance.cases import load_cases
from conformance.client import AirflowAPIError
from conformance.expectations import divergences_for
from conformance.recordings import diff, manifest_entry, streams_dir, to_fixture
from conformance.session import prepare
from conformance.targets import TargetError, make_target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.record", description=__doc__.split("\n\n")[0])
    parser.add_argument("--airflow-target", default=None, help="local (default), external; or AIRFLOW_CONFORMANCE_TARGET")
    parser.add_argument("--out", type=Path, default=streams_dir(), help="where the transcripts live (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a recording differs")
    args = parser.parse_args(argv)

    progress.to_stream(sys.stderr, prefix="record: ")
    cases = load_cases()
    try:
        target = make_target(args.airflow_target)
        progress.step(f"starting the {target.name} target")
        with target.start() as connection, tempfile.TemporaryDirectory() as folder:
            session = prepare(connection, cases.values(), Path(folder))
            run_ids, version, database = session.run_ids, session.airflow_version, session.database
            if session.feature_absent:
                raise TargetError(f"Airflow {version} lacks the DAG Result feature ({session.feature_absent}); there is nothing to record")
            recorded = {
                case.id: to_fixture(session.transcript(case.id), case, run_ids[case.dag_id], version)
                for case in cases.values()
            }
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
    print(f"record: {len(recorded)} transcripts from Airflow {version}; {len(changed)} differ from {args.out}", file=sys.stderr)
    if args.check:
        return 1 if changed else 0

    # Only what differs is rewritten: poll lines and timings change on every recording, and
    # rewriting unchanged cases would bury the real change in noise.
    args.out.mkdir(parents=True, exist_ok=True)
    for case_id in changed:
        (args.out / f"{case_id}.json").write_text(json.dumps(recorded[case_id], indent=1) + "\n")
    divergences = divergences_for(version, database)
    manifest = {
        "$schema": "../../schemas/stream-manifest.schema.json",
        "airflow_version": version,
        "database": database,
        "cases": [manifest_entry(case, divergences) for case in cases.values()],
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
