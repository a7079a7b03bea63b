# syntax=docker/dockerfile:1.7
# One image recipe for every service. Build from the repository root:
#   docker build --build-arg SERVICE=booking -t jesh/booking .
# (docker-compose.yml and deploy/k8s do this for each service.) Stage 1 builds wheels; stage 2 installs
# only those wheels, runs as an unprivileged user and holds the service's Alembic migrations:
#   alembic -c /app/services/<SERVICE>/alembic.ini upgrade head   (the <name>-migrate job / init container)

FROM python:3.11-slim AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<a directory of services/>" >&2; exit 1; }
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY libs/jeshkit/pyproject.toml libs/jeshkit/pyproject.toml
COPY libs/jeshkit/src libs/jeshkit/src
COPY services/${SERVICE}/pyproject.toml services/${SERVICE}/pyproject.toml
COPY services/${SERVICE}/src services/${SERVICE}/src
# Every runtime dependency as a wheel (pinned in the pyproject files); the kit is resolved from the local copy.
RUN pip wheel --wheel-dir /wheels ./libs/jeshkit ./services/${SERVICE}

FROM python:3.11-slim AS runtime
ARG SERVICE
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    JESH_SERVICE=${SERVICE}
RUN groupadd --system --gid 10001 jesh \
 && useradd --system --uid 10001 --gid jesh --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin jesh
# Install from the wheels only (no index, no compiler); the wheels are mounted, never copied into a layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "jesh-${SERVICE}" \
 && pip uninstall --yes setuptools wheel
WORKDIR /app
COPY services/${SERVICE}/alembic.ini services/${SERVICE}/alembic.ini
COPY services/${SERVICE}/migrations services/${SERVICE}/migrations
USER 10001:10001
EXPOSE 8000
# Shell form for ${JESH_SERVICE}; exec hands PID 1 (and SIGTERM) to uvicorn.
# --timeout-keep-alive: longer than the gateway keeps an idle connection (gateway/traefik.yml idleConnTimeout 90s),
# so that Traefik never sends a request on a connection uvicorn is closing (a POST that gets 502).
CMD exec uvicorn "${JESH_SERVICE}.app:create_app" --factory --host 0.0.0.0 --port 8000 \
    --no-access-log --timeout-graceful-shutdown 20 --timeout-keep-alive 100
