#!/usr/bin/env bash
# Build the Parcours image with podman, on a machine that may reach no image registry (`make image`).
#
#   1. the base: PARCOURS_BASE_IMAGE when given (e.g. python:3.11.14-slim-bookworm where it can be
#      pulled); otherwise Debian's python3 on a Debian made here with debootstrap
#      (localhost/debian:bookworm, then localhost/python-debian:3.11-bookworm), each reused when
#      present (PARCOURS_REBUILD_BASE=1 makes both again, e.g. for Debian's security updates);
#   2. build/wheelhouse: Parcours and its pinned dependencies as wheels, built on the host;
#   3. deploy/Dockerfile on that base, installing offline from the wheelhouse.
#
# Prints the image's name (PARCOURS_IMAGE, default localhost/parcours:VERSION) when done.
# Podman's settings come from deploy/containers.conf unless CONTAINERS_CONF names another file.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-$root/.venv/bin/python}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/deploy/containers.conf}"
version="$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
image="${PARCOURS_IMAGE:-localhost/parcours:$version}"
debian=localhost/debian:bookworm
python_debian=localhost/python-debian:3.11-bookworm

image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# Remove the image a build replaced under the same name, unless a container still uses it.
drop_replaced() {
    if [ -n "$2" ] && [ "$2" != "$(image_id "$1")" ]; then
        podman rmi "$2" >/dev/null 2>&1 || true
    fi
}

log() { echo "image.sh: $*" >&2; }

debian_base() {
    command -v debootstrap >/dev/null || {
        log "debootstrap is missing: apt-get install -y debootstrap"
        exit 1
    }
    local rootfs
    rootfs="$(mktemp -d /tmp/parcours-rootfs.XXXXXX)"
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap bookworm (about a minute)"
    debootstrap --variant=minbase bookworm "$rootfs" >&2
    # The packages debootstrap fetched and its package lists are not part of a base image.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import - "$debian" >&2
}

base="${PARCOURS_BASE_IMAGE:-}"
if [ -z "$base" ]; then
    base="$python_debian"
    old_debian="$(image_id "$debian")" old_python="$(image_id "$python_debian")"
    if [ "${PARCOURS_REBUILD_BASE:-0}" = 1 ] || [ -z "$old_debian" ]; then
        debian_base
    fi
    if [ "${PARCOURS_REBUILD_BASE:-0}" = 1 ] || [ -z "$old_python" ]; then
        log "Debian's python3 on $debian"
        podman build --network host \
            --build-arg DEBIAN_IMAGE="$debian" -t "$python_debian" \
            -f deploy/python-debian.Dockerfile deploy >&2
    fi
fi

# A fresh wheelhouse each time: pip's cache makes it quick, and no stale wheel slips in.
log "wheelhouse"
# setuptools' build/lib would carry a module deleted since into the wheel.
rm -rf build/wheelhouse build/lib build/bdist.*
"$python" -m pip wheel --quiet --disable-pip-version-check -c constraints.txt \
    --wheel-dir build/wheelhouse . >&2

# No network in this build: everything comes from the wheelhouse. No layer cache either: the
# wheelhouse is new each time, so nothing below the base would be reused.
log "$image on $base"
previous="$(image_id "$image")"
podman build --network none --layers=false \
    --build-arg PYTHON_IMAGE="$base" \
    --label org.opencontainers.image.version="$version" \
    -f deploy/Dockerfile --ignorefile deploy/Dockerfile.dockerignore -t "$image" . >&2
drop_replaced "$image" "$previous"
if [ -z "${PARCOURS_BASE_IMAGE:-}" ]; then
    drop_replaced "$python_debian" "$old_python"
    drop_replaced "$debian" "$old_debian"
fi
echo "$image"
