# The runner image: the conformance suite itself, to run against an Airflow it reaches by URL,
# as the Kubernetes conformance image runs against a cluster. No Airflow inside (the build
# fails if any ends up there).
#
# Build it with `tools/container/build.sh suite`, which prepares the build context: src/ (this
# checkout's pyproject.toml, README.md, .gitignore, conformance/, schemas/, fixtures/, dags/),
# suite-entrypoint.sh and ca-bundle.pem (may be empty). The wheel is built here, from src/, as
# tox builds it, and installed with its dependencies from PyPI into /opt/conformance-venv.
#
# Build arguments:
#   BASE_IMAGE   a Debian 12 image: the debootstrapped airflow-conformance/debian:bookworm
#                (tools/container/debian-base.sh), or debian:bookworm-slim where a registry is reachable
#   UV_VERSION   the uv that builds and installs the wheel (from PyPI)
#
# Running it: configured only by AIRFLOW_CONFORMANCE_* variables (URL, TOKEN or USERNAME and
# PASSWORD, RESTRICTED_*, NO_RUNS_*, DB, the selection variables); the target is external and the reports
# go to /reports; the arguments of `docker run` go to `conformance run` (pytest's after `--`),
# and the container's exit code is the suite's. User conformance (uid 10001, group 0); a host
# folder mounted at /reports must be writable by it, or run with --user "$(id -u):$(id -g)".
# The fixture DAGs the deployment needs are in the image at /opt/conformance-dags.
ARG BASE_IMAGE=airflow-conformance/debian:bookworm

FROM ${BASE_IMAGE} AS python
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       python3 python3-venv ca-certificates tini >/dev/null \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && useradd --uid 10001 --gid 0 --home-dir /home/conformance --create-home --shell /usr/sbin/nologin conformance

# Builds the wheel and installs it. The host's CA bundle is used here only (a proxy that
# intercepts TLS re-signs PyPI's certificates) and never reaches the final image. The suite's
# dependencies go in first, from pyproject.toml alone, so that an edit of the suite reuses
# that layer and only builds and installs the wheel again.
FROM python AS install
ARG UV_VERSION=0.13.9
COPY ca-bundle.pem /tmp/host-ca-bundle.pem
COPY src/pyproject.toml /tmp/src/pyproject.toml
RUN set -eu; \
    if [ -s /tmp/host-ca-bundle.pem ]; then \
      export SSL_CERT_FILE=/tmp/host-ca-bundle.pem PIP_CERT=/tmp/host-ca-bundle.pem; \
    fi; \
    python3 -m venv /tmp/uv; \
    /tmp/uv/bin/pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"; \
    /tmp/uv/bin/uv venv --quiet --python /usr/bin/python3 /opt/conformance-venv; \
    /tmp/uv/bin/uv pip install --quiet --no-cache --compile-bytecode --python /opt/conformance-venv/bin/python \
      -r /tmp/src/pyproject.toml
COPY src/ /tmp/src/
RUN set -eu; \
    if [ -s /tmp/host-ca-bundle.pem ]; then \
      export SSL_CERT_FILE=/tmp/host-ca-bundle.pem PIP_CERT=/tmp/host-ca-bundle.pem; \
    fi; \
    /tmp/uv/bin/uv build --quiet --no-cache --wheel --out-dir /tmp/dist /tmp/src; \
    /tmp/uv/bin/uv pip install --quiet --no-cache --compile-bytecode --python /opt/conformance-venv/bin/python /tmp/dist/*.whl; \
    if /opt/conformance-venv/bin/python -c "import airflow" 2>/dev/null; then \
      echo "suite image: Airflow ended up in the suite's environment; the suite must not depend on it" >&2; \
      /tmp/uv/bin/uv pip list --python /opt/conformance-venv/bin/python >&2; exit 1; \
    fi; \
    cd /tmp; \
    AIRFLOW_CONFORMANCE_TARGET=external /opt/conformance-venv/bin/conformance run -- --collect-only -q >/tmp/collected; \
    tail -n 1 /tmp/collected; \
    ls "$(/opt/conformance-venv/bin/python -c 'from conformance.paths import dags_dir; print(dags_dir())')"/*.py >/dev/null

FROM python
COPY --from=install /opt/conformance-venv /opt/conformance-venv
COPY suite-entrypoint.sh /usr/local/bin/conformance-entrypoint
RUN chmod 0755 /usr/local/bin/conformance-entrypoint \
    && ln -s "$(/opt/conformance-venv/bin/python -c 'from conformance.paths import dags_dir; print(dags_dir())')" /opt/conformance-dags \
    && install -d -o 10001 -g 0 -m 0775 /reports
ENV PATH=/opt/conformance-venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_CONFORMANCE_TARGET=external \
    AIRFLOW_CONFORMANCE_REPORT=/reports
USER 10001
WORKDIR /home/conformance
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/conformance-entrypoint"]
