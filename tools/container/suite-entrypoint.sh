#!/bin/sh
# The runner image's entrypoint (tools/container/suite.Dockerfile): the front door,
# `conformance run`, with the arguments of `docker run` after it (pytest's after `--`).
#
# The image sets AIRFLOW_CONFORMANCE_TARGET=external and AIRFLOW_CONFORMANCE_REPORT=/reports;
# everything else comes from the AIRFLOW_CONFORMANCE_* variables given to `docker run`. A
# reports folder this user cannot write to (a host folder mounted there keeps the host's owner
# and mode) would only show after the whole run, so it ends the run first, with one sentence
# and exit code 4. Otherwise the exit code is the suite's: exec leaves no shell in between.
set -eu

reports=${AIRFLOW_CONFORMANCE_REPORT:-}
if [ -n "$reports" ]; then
  mkdir -p "$reports" 2>/dev/null || true
  if [ ! -d "$reports" ] || [ ! -w "$reports" ]; then
    echo "conformance: the reports folder $reports is not writable by uid $(id -u); run the image with" \
      "--user \"\$(id -u):\$(id -g)\" as the owner of the folder you mount there, or make that folder writable." >&2
    exit 4
  fi
fi
exec conformance run "$@"
