# syntax=docker/dockerfile:1
#
# Rathaus in one container:
#   docker build -t rathaus .
#   docker run -p 8000:8000 -v rathaus-data:/data \
#       -e RATHAUS_SECRET_KEY=... -e RATHAUS_BASE_DOMAIN=rathaus.example -e RATHAUS_DATABASE_URL=... rathaus
# Without RATHAUS_DATABASE_URL the SQLite database lives in the /data volume. The container applies
# the migrations and then serves on port 8000, trusting X-Forwarded-* headers from the reverse proxy
# in front of it. Other commands: `docker run --rm ... rathaus rathaus tenant create <slug> <name>`.

# ---- stage 1: the dependencies, in a virtual environment ------------------------------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Only the lock file: the dependency layer is rebuilt when the pinned releases change, not on every
# code change. Every file is checked against its hash (requirements/app.txt, made by tools/lock.sh).
# The code itself is not installed into the venv; it runs from /app (stage 2), where backend/ finds
# pwa/ and locales/ next to it.
COPY requirements/app.txt ./requirements.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install --require-hashes -r requirements.txt

# ---- stage 2: the app -----------------------------------------------------------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RATHAUS_HOST=0.0.0.0 \
    RATHAUS_PORT=8000 \
    RATHAUS_DATA_DIR=/data

RUN groupadd --system --gid 10001 rathaus \
    && useradd --system --uid 10001 --gid rathaus --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin rathaus \
    && mkdir -p /data \
    && chown rathaus:rathaus /data

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY pyproject.toml ./
COPY backend/ backend/
COPY pwa/ pwa/
COPY locales/ locales/
# `rathaus ...` works in the container like after `pip install`; byte-code is compiled once here
# because /app is read-only for the rathaus user.
RUN printf '#!/bin/sh\nexec python -m backend "$@"\n' > /opt/venv/bin/rathaus \
    && chmod 755 /opt/venv/bin/rathaus \
    && python -m compileall -q /app/backend

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('RATHAUS_PORT', '8000'), timeout=4)"]

CMD ["sh", "-c", "python -m backend db upgrade && exec python -m backend serve --behind-proxy"]
