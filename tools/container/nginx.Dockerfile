# The nginx image of the container target's Celery topology (the load balancer in front of the
# api-server replicas), from Debian's packages (no registry needed). Built by
# `tools/container/build.sh nginx`.
#
# It carries no site: the topology copies its nginx.conf in (docker_topology.NGINX_CONF) and
# nginx runs in the foreground, logging to the container's output.
ARG BASE_IMAGE=airflow-conformance/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/*
EXPOSE 8080
ENTRYPOINT ["nginx", "-g", "daemon off;"]
