# A Python base from Debian's own packages, for a machine that can pull no image: Debian's
# python3 (3.11 on bookworm) on a base made locally with debootstrap. deploy/image.sh builds it
# as localhost/python-debian:3.11-bookworm when the official python image is out of reach.
# It offers what deploy/Dockerfile expects of its base: `python` with venv, groupadd, CA roots.

ARG DEBIAN_IMAGE=localhost/debian:bookworm

FROM ${DEBIAN_IMAGE}
# debootstrap's sources list names bookworm only: add its point and security updates.
RUN rm -f /etc/apt/sources.list \
    && printf '%s\n' \
        'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm bookworm-updates' \
        'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' '' \
        'Types: deb' 'URIs: http://deb.debian.org/debian-security' 'Suites: bookworm-security' \
        'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
        > /etc/apt/sources.list.d/debian.sources \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python-is-python3 ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ENV LANG=C.UTF-8
CMD ["python"]
