# orchestrator: bulk exports from the Khoros Analytics Reports API.
# Build: docker build -t orchestrator .   Run: docker run --env-file env -v "$PWD:/data" orchestrator
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data orchestrator
USER 10001
WORKDIR /data

ENTRYPOINT ["orchestrator"]
CMD ["run", "jobs.yaml", "--out", "/data/out"]
