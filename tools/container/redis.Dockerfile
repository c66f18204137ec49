# The Redis image of the container target's Celery topology (the broker), from Debian's
# packages (no registry needed). Built by `tools/container/build.sh redis`.
#
# A throwaway broker, not a deployment: no password, no persistence, listening on every
# interface of the topology's private network (which publishes no port of it). Without a
# config file redis-server listens on all interfaces; protected mode would still refuse them.
ARG BASE_IMAGE=airflow-conformance/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
    && rm -rf /var/lib/apt/lists/*
USER redis
EXPOSE 6379
# The same command the topology passes, so that the official redis image works in its place.
CMD ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
