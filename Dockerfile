# One image for the web (gunicorn), worker (celery worker) and beat (celery beat) services.
# docker-compose.yml picks the command per service; the default CMD runs the web server.
FROM python:3.11-slim

# STATIC_ROOT: static files are collected into the image at build time; the runtime reads the same path.
# MEDIA_ROOT: uploaded evidence; mount a volume here (compose mounts the named volume "media").
# WEB_CONCURRENCY: gunicorn's worker count; about 2 x CPU cores + 1 for sync workers.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media \
    VAR_DIR=/app/var \
    WEB_CONCURRENCY=3

# Non-root user. A home directory is needed: gunicorn puts its control socket in ~/.gunicorn.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. Every package ships a manylinux
# wheel for CPython 3.11 (psycopg[binary] bundles libpq), so no compiler or apt packages are needed.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code stays owned by root and read-only to the app user.
COPY . .

# collectstatic imports the settings, which refuse to load without SECRET_KEY when DEBUG is off;
# the dummy key exists for this one command and is not in the image's environment.
RUN SECRET_KEY=build-only DEBUG=0 python manage.py collectstatic --no-input \
    && python -m compileall -q annotator cases frontend \
    && mkdir -p "$VAR_DIR" "$MEDIA_ROOT" /data/keys \
    && chown app:app "$VAR_DIR" "$MEDIA_ROOT" /data/keys \
    && chmod 700 /data/keys

USER app

EXPOSE 8000

# Sync workers; a TLS proxy in front buffers slow clients and large uploads. --timeout kills a
# worker stuck on one request for 60 s; long work belongs in Celery jobs, not in requests.
# /dev/shm keeps gunicorn's worker heartbeat file off the container's overlay filesystem.
CMD ["gunicorn", "annotator.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--keep-alive", "5", \
     "--max-requests", "1000", \
     "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]
