#!/bin/sh
# Container entrypoint. The web role (the gunicorn command) refuses to start unless
# Django's deployment checks pass with no warning, then applies migrations. Workers,
# beat and one-off commands (e.g. `manage.py createsuperuser`) start as they are.
set -eu

if [ "${1:-}" = "gunicorn" ]; then
    python manage.py check --deploy --fail-level WARNING
    python manage.py migrate --noinput
fi

exec "$@"
