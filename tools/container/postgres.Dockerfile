# The PostgreSQL image of the container target's postgres topology, from Debian's packages
# (no registry needed). Built by `tools/container/build.sh postgres`.
#
# A throwaway test database, not a deployment: it trusts every connection and runs with fsync
# off. Like the official postgres image it reads POSTGRES_USER, POSTGRES_DB and
# POSTGRES_INITDB_ARGS, so that image can be used instead where a registry is reachable.
# Its default collation is C (the base image has no locales); the official image's is
# en_US.utf8, which orders task ids differently (see README, "In containers").
ARG BASE_IMAGE=airflow-conformance/debian:bookworm
FROM ${BASE_IMAGE}
# Debian's package would create a "main" cluster at install time; the entrypoint makes its own.
RUN mkdir -p /etc/postgresql-common \
    && echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
    && install -d -o postgres -g postgres /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
