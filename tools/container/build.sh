#!/usr/bin/env bash
# Build the container target's images with no container registry: the Debian base
# (debootstrap + docker import, once), the Airflow image, the PostgreSQL image, and the Redis
# and nginx images of the Celery topology; and the
# runner image of the suite itself (`suite`, not part of `all`: it tests no image, it is one).
#
#   tools/container/build.sh [all|base|airflow|postgres|redis|nginx|suite] [options]
#
#   suite                 airflow-conformance/suite:<the suite's version> and :latest, from a
#                         wheel of this checkout (tools/container/suite.Dockerfile; no Airflow inside)
#
#   --airflow-version V   the released Airflow to install (default 3.3.2)
#   --wheels DIR          install the wheels in DIR as they are (a build of Airflow from source:
#                         apache_airflow-*.whl with the apache_airflow_core / task_sdk wheels you
#                         built; what they need beyond them comes from PyPI); the image's version
#                         tag comes from the apache_airflow wheel's name. With no such wheel, add
#                         --airflow-spec, e.g. 'apache-airflow[postgres,celery]==3.3.2' beside a core wheel.
#   --airflow-spec SPEC   any requirement uv accepts, e.g. 'apache-airflow[postgres,celery]==3.3.1'
#   --tag TAG             the Airflow image's tag (default airflow-conformance/airflow:VERSION,
#                         or airflow-conformance/airflow:wheels for wheels with no apache_airflow one)
#
#   BASE_IMAGE            default airflow-conformance/debian:bookworm (made here when missing);
#                         debian:bookworm-slim works where a registry is reachable
#   AIRFLOW_CONFORMANCE_CA_BUNDLE  the CA bundle pip and uv trust inside the build (default:
#                         PIP_CERT, SSL_CERT_FILE, REQUESTS_CA_BUNDLE, or the system bundle), so
#                         that a proxy re-signing TLS is trusted inside as it is on the host
#
# Reruns are quick: the base is made only when its tag is missing, and Docker's layer cache
# reuses every step whose inputs did not change. Prints the tags it built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

what=all
case "${1:-}" in all|base|airflow|postgres|redis|nginx|suite) what=$1; shift ;; esac
version=3.3.2 wheels= spec= tag=
while [ $# -gt 0 ]; do
  case "$1" in
    --airflow-version) version=$2; shift 2 ;;
    --wheels) wheels=$2; shift 2 ;;
    --airflow-spec) spec=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    *) echo "build: unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done

base=${BASE_IMAGE:-airflow-conformance/debian:bookworm}
postgres_tag=airflow-conformance/postgres:15
redis_tag=airflow-conformance/redis:7
nginx_tag=airflow-conformance/nginx:1.22
suite_repository=airflow-conformance/suite
export DOCKER_BUILDKIT=0  # the classic builder: Debian's docker.io has no buildx

ca_bundle() {
  for candidate in "${AIRFLOW_CONFORMANCE_CA_BUNDLE:-}" "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" \
                   "${REQUESTS_CA_BUNDLE:-}" /etc/ssl/certs/ca-certificates.crt; do
    if [ -n "$candidate" ] && [ -s "$candidate" ]; then echo "$candidate"; return; fi
  done
}

build_base() {
  if [ "$base" = airflow-conformance/debian:bookworm ]; then
    BASE_IMAGE=$base "$here/debian-base.sh"
  fi
}

timed_build() {  # timed_build LABEL docker-build-args...
  local label=$1 started log; shift
  started=$(date +%s)
  log=$(mktemp)
  if ! docker build --quiet --force-rm "$@" >"$log" 2>&1; then  # --force-rm: no container left by a failed step
    echo "build: the $label image failed to build; the build output ends:" >&2
    tail -n 40 "$log" >&2; rm -f "$log"; exit 1
  fi
  rm -f "$log"
  echo "build: $label image ready in $(( $(date +%s) - started )) s"
}

build_airflow() {
  local context
  context=$(mktemp -d)
  trap 'rm -rf "$context"' RETURN
  mkdir "$context/wheels"
  cp "$here/airflow.Dockerfile" "$context/Dockerfile"
  if bundle=$(ca_bundle) && [ -n "$bundle" ]; then cp "$bundle" "$context/ca-bundle.pem"; else : >"$context/ca-bundle.pem"; fi
  if [ -n "$wheels" ]; then
    cp "$wheels"/*.whl "$context/wheels/" || { echo "build: no wheels in $wheels" >&2; exit 2; }
    meta=$(cd "$context/wheels" && ls apache_airflow-[0-9]*.whl 2>/dev/null | head -n 1 || true)
    if [ -n "$meta" ]; then
      version=$(echo "$meta" | cut -d- -f2)
    elif [ -z "$spec" ]; then
      echo "build: no apache_airflow-*.whl in $wheels; add --airflow-spec 'apache-airflow[postgres,celery]==VERSION'" >&2; exit 2
    else
      tag=${tag:-airflow-conformance/airflow:wheels}
    fi
  fi
  tag=${tag:-airflow-conformance/airflow:$version}
  local previous
  previous=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  timed_build "Airflow ($tag)" -t "$tag" --build-arg "BASE_IMAGE=$base" \
    --build-arg "AIRFLOW_VERSION=$version" --build-arg "AIRFLOW_SPEC=$spec" "$context"
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true  # the image this tag replaced, unless a container uses it
  fi
  echo "build: $tag: Airflow $(docker run --rm "$tag" version 2>/dev/null | tail -n 1)"
}

build_suite() {
  local context repo suite_version tag previous
  repo=$(cd "$here/../.." && pwd)
  suite_version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$repo/conformance/__init__.py")
  [ -n "$suite_version" ] || { echo "build: no __version__ in $repo/conformance/__init__.py" >&2; exit 2; }
  tag=$suite_repository:$suite_version
  context=$(mktemp -d)
  trap 'rm -rf "$context"' RETURN
  mkdir "$context/src"
  # What the wheel is built from; .gitignore goes along so that hatchling leaves out what tox's wheel does.
  tar -C "$repo" --exclude=__pycache__ -c pyproject.toml README.md .gitignore conformance schemas fixtures dags \
    | tar -C "$context/src" -x
  cp "$here/suite.Dockerfile" "$context/Dockerfile"
  cp "$here/suite-entrypoint.sh" "$context/"
  if bundle=$(ca_bundle) && [ -n "$bundle" ]; then cp "$bundle" "$context/ca-bundle.pem"; else : >"$context/ca-bundle.pem"; fi
  previous=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  timed_build "suite ($tag)" -t "$tag" -t "$suite_repository:latest" --build-arg "BASE_IMAGE=$base" "$context"
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true  # the image this tag replaced, unless a container uses it
  fi
  echo "build: $tag (also $suite_repository:latest): $(( ($(docker image inspect --format '{{.Size}}' "$tag") + 500000) / 1000000 )) MB"
}

build_postgres() {
  timed_build "PostgreSQL ($postgres_tag)" -t "$postgres_tag" --build-arg "BASE_IMAGE=$base" \
    -f "$here/postgres.Dockerfile" "$here"
}

build_redis() {
  timed_build "Redis ($redis_tag)" -t "$redis_tag" --build-arg "BASE_IMAGE=$base" -f "$here/redis.Dockerfile" "$here"
}

build_nginx() {
  timed_build "nginx ($nginx_tag)" -t "$nginx_tag" --build-arg "BASE_IMAGE=$base" -f "$here/nginx.Dockerfile" "$here"
}

build_base
case "$what" in
  airflow) build_airflow ;;
  postgres) build_postgres ;;
  redis) build_redis ;;
  nginx) build_nginx ;;
  suite) build_suite ;;
  all) build_airflow; build_postgres; build_redis; build_nginx ;;
esac
