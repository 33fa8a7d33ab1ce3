#!/bin/sh
# Container entrypoint. The web role (the gunicorn command) refuses to start unless
# Django's deployment checks pass with no warning, then applies migrations
# and queues the re-render of fragments an upgrade made out of date. Workers,
# beat and one-off commands (e.g. `manage.py createsuperuser`) start as they are.
set -eu

if [ "${1:-}" = "gunicorn" ]; then
    python manage.py check --deploy --fail-level WARNING
    python manage.py migrate --noinput
    # An upgrade that changed rendering (a new RENDERER_VERSION) leaves stored
    # fragments out of date: workers re-render those, and only those.
    python manage.py render_manuscripts
fi

exec "$@"
