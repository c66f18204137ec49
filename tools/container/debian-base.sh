#!/usr/bin/env bash
# A Debian base image made without any container registry: debootstrap a minimal root file
# system from a Debian mirror, then `docker import` it. The Airflow and PostgreSQL images of
# the container target build FROM it where `debian:bookworm-slim` cannot be pulled.
#
#   tools/container/debian-base.sh [--force]
#
#   DEBIAN_SUITE    bookworm (default)
#   DEBIAN_MIRROR   default: the first Debian mirror in this host's apt sources, else
#                   http://deb.debian.org/debian
#   BASE_IMAGE      the tag to create, default airflow-conformance/debian:$DEBIAN_SUITE
#
# Skips the work when the tag already exists (--force rebuilds). Needs root, debootstrap and a
# running Docker engine (tools/container/engine.sh provides both on Debian).
set -euo pipefail

suite=${DEBIAN_SUITE:-bookworm}
image=${BASE_IMAGE:-airflow-conformance/debian:$suite}
force=${1:-}

if [ "$force" != "--force" ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "debian-base: $image already exists (--force rebuilds it)"
  exit 0
fi

host_mirror() {
  # deb822 sources first (URIs: ...), then one-line sources (deb URL suite ...).
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'
  } | grep -E '/debian/?$' | head -n 1
}
mirror=${DEBIAN_MIRROR:-$(host_mirror || true)}
mirror=${mirror:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null || { echo "debian-base: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

rootfs=$(mktemp -d /var/tmp/airflow-conformance-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "debian-base: debootstrap $suite from $mirror"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  echo "debian-base: debootstrap failed; its log ends:" >&2; tail -n 30 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"

# What debian:*-slim does too: no apt caches or docs in the image, and apt sources for the
# suite's updates and security archives beside the main one.
cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security} $suite-security main
SOURCES
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/90no-recommends"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb

tar --numeric-owner -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$image" >/dev/null
echo "debian-base: built $image"
