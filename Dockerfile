# Production image for reviewapp: one image for the web, worker and beat roles.
# Build: docker build -t reviewapp .   (or `docker compose build`)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=0

WORKDIR /app

RUN groupadd --system reviewapp \
    && useradd --system --gid reviewapp --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin reviewapp

# Chromium prints PDF exports (the worker runs it headless, through Playwright from
# requirements.txt, which uses this browser and never downloads one); fonts for its text.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

# Only what the app runs; copied explicitly so a local .env, .venv or db.sqlite3 never
# ends up in the image. The code stays root-owned: the app user can read, not modify it.
COPY manage.py ./
COPY reviewapp/ reviewapp/
COPY sections/ sections/
COPY templates/ templates/
COPY static/ static/
COPY docker/ docker/
RUN chmod 0755 docker/entrypoint.sh

# Static files are baked into the image. DEBUG=0 refuses to load without a SECRET_KEY
# and ALLOWED_HOSTS, so this step gets throwaway build-only values inline: they exist
# only for this RUN and are never stored in the image or used at runtime.
RUN SECRET_KEY=collectstatic-build-only-throwaway-key-never-used-at-runtime \
    ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput

# Figure files (MEDIA_ROOT), on the compose stack's shared volume: the app user's to
# write. A new named volume takes this folder's owner.
RUN mkdir -p /data/media && chown reviewapp:reviewapp /data/media

USER reviewapp

EXPOSE 8000

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["gunicorn", "reviewapp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
