# The Airflow image of the container target, built without any container registry.
#
# Build it with tools/container/build.sh, which prepares the build context (the host's CA
# bundle, local wheels) and skips what is already built. By hand, from a context holding
# ca-bundle.pem (may be empty) and wheels/ (may be empty):
#
#   docker build -f airflow.Dockerfile --build-arg AIRFLOW_VERSION=3.3.2 -t airflow-conformance/airflow:3.3.2 CONTEXT
#
# Build arguments:
#   BASE_IMAGE       a Debian 12 image: the debootstrapped airflow-conformance/debian:bookworm
#                    (tools/container/debian-base.sh), or debian:bookworm-slim where a registry is reachable
#   AIRFLOW_VERSION  the released Airflow to install, with its postgres and celery extras (the
#                    Celery topology's executor and workers)
#   AIRFLOW_SPEC     instead: any requirement uv accepts, e.g. "apache-airflow[postgres,celery]==3.3.1"
#   wheels/*.whl     in the context: installed as they are (a build of Airflow from source), each
#                    as a direct requirement so that dev versions need no pre-release flag; an
#                    apache_airflow-*.whl among them stands for AIRFLOW_VERSION
#   UV_VERSION       the uv that installs it (from PyPI)
#
# Like the official apache/airflow image: AIRFLOW_HOME=/opt/airflow, user airflow (uid 50000),
# and the arguments of `docker run` are an airflow command (`standalone`, `scheduler`, ...).
ARG BASE_IMAGE=airflow-conformance/debian:bookworm

FROM ${BASE_IMAGE} AS python
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       python3 python3-venv ca-certificates tini >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home --shell /bin/bash airflow

# Installs Airflow into /opt/airflow-venv. The host's CA bundle is used here only (a proxy that
# intercepts TLS re-signs PyPI's certificates) and never reaches the final image.
FROM python AS install
ARG AIRFLOW_VERSION=3.3.2
ARG AIRFLOW_SPEC=
ARG UV_VERSION=0.13.9
COPY ca-bundle.pem /tmp/host-ca-bundle.pem
COPY wheels/ /tmp/wheels/
RUN set -eu; \
    if [ -s /tmp/host-ca-bundle.pem ]; then \
      export SSL_CERT_FILE=/tmp/host-ca-bundle.pem PIP_CERT=/tmp/host-ca-bundle.pem; \
    fi; \
    set --; meta=; \
    for wheel in /tmp/wheels/*.whl; do \
      [ -e "$wheel" ] || continue; \
      case "${wheel##*/}" in \
        apache_airflow-[0-9]*) meta=1; set -- "$@" "apache-airflow[postgres,celery] @ file://$wheel" ;; \
        *) set -- "$@" "$wheel" ;; \
      esac; \
    done; \
    if [ -n "$AIRFLOW_SPEC" ]; then set -- "$@" "$AIRFLOW_SPEC"; \
    elif [ -z "$meta" ]; then set -- "$@" "apache-airflow[postgres,celery]==${AIRFLOW_VERSION}"; fi; \
    echo "installing: $*"; \
    python3 -m venv /tmp/uv \
    && /tmp/uv/bin/pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}" \
    && /tmp/uv/bin/uv venv --quiet --python /usr/bin/python3 /opt/airflow-venv \
    && /tmp/uv/bin/uv pip install --quiet --no-cache --python /opt/airflow-venv/bin/python "$@" \
    && /opt/airflow-venv/bin/airflow version

FROM python
COPY --from=install /opt/airflow-venv /opt/airflow-venv
ENV PATH=/opt/airflow-venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    TINI_SUBREAPER=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 50000
WORKDIR /opt/airflow
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "airflow"]
CMD ["standalone"]
