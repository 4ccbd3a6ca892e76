FROM python:3.11-slim

WORKDIR /app
# Auth is on: give the container SECRET_KEY (or AURA_JWT_PUBLIC_KEY / AURA_JWKS_FILE).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    AURA_DB_PATH=/data/aura.db AURA_AUTH=jwt

# The client SDK (generated stubs) first: the server depends on it.
COPY clients/python /app/clients/python
COPY pyproject.toml README.md /app/
COPY server /app/server
RUN pip install --no-cache-dir /app/clients/python /app \
    && useradd --system --uid 10001 aura \
    && mkdir -p /data && chown aura /data

USER aura
VOLUME ["/data"]
EXPOSE 50051 8000
CMD ["aura", "serve"]
