# Aura's image: wheels are built in the first stage; the final stage holds only Python,
# the installed wheels and a non-root user (no compilers, no build tools).
FROM python:3.11-slim AS build
WORKDIR /src
COPY clients/python /src/clients/python
COPY pyproject.toml README.md /src/
COPY server /src/server
# The client SDK (generated stubs) and the server, with every dependency, as wheels.
RUN pip wheel --no-cache-dir --wheel-dir /wheels /src/clients/python /src

FROM python:3.11-slim
# Auth is on: give the container SECRET_KEY (or AURA_JWT_PUBLIC_KEY / AURA_JWKS_FILE).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    AURA_DB_PATH=/data/aura.db AURA_AUTH=jwt NUMBA_CACHE_DIR=/tmp/aura-numba
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels aura-server \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data aura \
    && mkdir -p /data && chown aura /data
USER aura
WORKDIR /data
VOLUME ["/data"]
EXPOSE 50051 8000 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["aura", "health"]
CMD ["aura", "serve"]
