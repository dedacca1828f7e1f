# orchestrator: bulk exports from the Khoros Care Analytics Reports API, as a container.
#
#   docker build -t orchestrator \
#     --build-arg REVISION="$(git rev-parse HEAD)" --build-arg SOURCE=https://github.com/OWNER/REPO .
#   docker run --rm --read-only --tmpfs /tmp --env-file orchestrator.env \
#     -v "$PWD/jobs.yaml:/config/jobs.yaml:ro" -v "$PWD/out:/data" orchestrator
#   docker run --rm orchestrator demo        # no account needed: the embedded fake API
#
# Mounts: the manifest at /config/jobs.yaml (read-only), the output tree, its journal and the run
# reports at /data (writable by uid 10001). Nothing else is written: the root filesystem may be
# read-only, with a tmpfs at /tmp. See "Container" in the README.
#
# Reproducible: the base image is pinned by digest, every runtime dependency is installed from
# requirements.lock (exact versions and sha256 hashes, `make lock` regenerates it), and the project
# itself is built and installed without resolving anything (`--no-deps`, `--no-index`).

# The base image: python:3.11.10-slim-bookworm (an official image; the tag stays beside the digest).
# Digest source: a Renovate bot update of images/digests.Dockerfile in the public repository
# github.com/nalabelle/build, commit e522f90c79f133b9cc6dfc77ad6912a1710e6252 (2024-10-19), which
# resolved `docker.io/library/python:3.11.10-slim-bookworm` to this digest. To move to a newer
# patch release, resolve the tag yourself (`docker buildx imagetools inspect python:3.11-slim`) and
# replace both the tag in this comment and the digest.
ARG PYTHON_IMAGE=docker.io/library/python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16

# ---------------------------------------------------------------------------------------------
# builder: a venv holding exactly the locked dependencies and the project's own wheel.
FROM ${PYTHON_IMAGE} AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src

# The build backend (setuptools), locked with hashes too, installed into the builder's own Python.
COPY requirements-build.lock ./
RUN python -m pip install --require-hashes --no-deps -r requirements-build.lock

# The runtime dependencies: exact versions, every file checked against its hash, nothing resolved.
# The venv has no pip of its own (--without-pip): the builder's pip installs into it.
COPY requirements.lock ./
RUN python -m venv --without-pip /opt/orchestrator \
    && python -m pip --python /opt/orchestrator/bin/python install \
        --require-hashes --no-deps -r requirements.lock

# The project: built with the locked setuptools (no build isolation, so nothing is fetched), then
# installed from that wheel alone.
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
RUN python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && python -m pip --python /opt/orchestrator/bin/python install \
        --no-deps --no-index --find-links /wheels orchestrator

# ---------------------------------------------------------------------------------------------
# runtime: the slim base, the venv, a non-root user. No compiler, no pip, no setuptools.
FROM ${PYTHON_IMAGE} AS runtime

# OCI annotations. VERSION follows pyproject.toml (a test checks it); give REVISION (the commit)
# and SOURCE (the repository's URL) at build time, as the command at the top shows; the base
# image is named by the same tag and digest as FROM.
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="orchestrator" \
      org.opencontainers.image.description="Bulk exports from the Khoros Care Analytics Reports API" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

# PYTHONDONTWRITEBYTECODE: no .pyc written at run time (the venv's were compiled at install), so a
# read-only root filesystem is fine. ORCHESTRATOR_OUT makes `status`, `config` and `demo` use /data.
ENV PATH=/opt/orchestrator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/orchestrator \
    ORCHESTRATOR_OUT=/data

# The base image's own pip, setuptools and wheel in /usr/local, and the copies of pip and setuptools
# that ensurepip keeps: the tool needs none of them at run time (its venv has no pip), and image
# scanners report their CVEs. `pip uninstall` skips any that this base does not have.
RUN /usr/local/bin/python -m pip uninstall --yes --no-cache-dir --disable-pip-version-check \
        pip setuptools wheel \
    && rm -rf /usr/local/lib/python3.*/ensurepip/_bundled

# uid/gid 10001: a fixed number, so a volume's owner and Kubernetes' runAsUser can name it.
RUN groupadd --system --gid 10001 orchestrator \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/orchestrator \
        --shell /usr/sbin/nologin orchestrator \
    && install -d -o 10001 -g 10001 -m 0750 /data \
    && install -d -m 0755 /config

COPY --from=builder /opt/orchestrator /opt/orchestrator

USER 10001:10001
WORKDIR /home/orchestrator

# Exec form: orchestrator is PID 1 and receives SIGTERM itself (it stops submitting, gives downloads
# GRACE_SECONDS, journals everything and exits 143). Python as PID 1 has no default SIGTERM action,
# which is why the tool installs its own handler.
STOPSIGNAL SIGTERM
ENTRYPOINT ["orchestrator"]
CMD ["run", "/config/jobs.yaml", "--out", "/data"]
