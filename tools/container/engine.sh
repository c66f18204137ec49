#!/usr/bin/env bash
# Make sure a Docker engine answers on this Debian machine: install Debian's docker.io (and
# debootstrap, for debian-base.sh) when missing, start dockerd when it is not running, and wait
# until `docker info` answers. Needs root. Leaves the engine running; its log goes to
# /var/log/airflow-conformance-dockerd.log when this script started it.
#
#   tools/container/engine.sh
set -euo pipefail

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "engine: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  echo "engine: Docker answers ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi

if [ -d /run/systemd/system ]; then
  systemctl start docker
else
  # No service manager: run dockerd in a session of its own so that it outlives this script.
  setsid dockerd >>/var/log/airflow-conformance-dockerd.log 2>&1 < /dev/null &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "engine: Docker answers ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "engine: dockerd did not answer within 60 s; its log ends:" >&2
tail -n 30 /var/log/airflow-conformance-dockerd.log >&2 2>/dev/null || true
exit 1
