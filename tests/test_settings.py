"""Settings come from the environment; production refuses to start half-configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7!k2#p9v$q4w8e1r6t3y5u0i2o7p4a9s1d6f3g8h5j0k2l7z4",
    "ALLOWED_HOSTS": "review.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://review.example.org",
}


def django(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def setting(env: dict, expression: str) -> str:
    done = django(
        env, "shell", "-c", f"from django.conf import settings; print({expression})"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"DEBUG": "0", "ALLOWED_HOSTS": "review.example.org"}, "needs a SECRET_KEY"),
        (
            {
                **PRODUCTION,
                "SECRET_KEY": "django-insecure-reviewapp-development-key-never-use-in-production",
            },
            "needs a SECRET_KEY",
        ),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "needs ALLOWED_HOSTS"),
        ({**PRODUCTION, "DEBUG": "maybe"}, "DEBUG must be a boolean"),
        (
            {**PRODUCTION, "OUTBOUND_ALLOWED_ADDRESSES": "127.0.0.1"},
            "OUTBOUND_ALLOWED_ADDRESSES is for tests",
        ),
    ],
)
def test_production_refuses_to_start_half_configured(env, refusal):
    done = django(env, "check")
    assert done.returncode != 0
    assert refusal in done.stderr


def test_production_configured_as_the_readme_says_passes_the_deploy_check():
    done = django(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stderr


def test_embedded_default_needs_nothing_running():
    assert (
        setting({}, "settings.DATABASES['default']['ENGINE']")
        == "django.db.backends.sqlite3"
    )
    assert setting({}, "settings.CELERY_TASK_ALWAYS_EAGER") == "True"
    assert "LocMemCache" in setting({}, "settings.CACHES['default']['BACKEND']")
    assert "console" in setting({}, "settings.EMAIL_BACKEND")


def test_database_and_redis_urls_switch_to_postgres_and_celery_over_redis(tmp_path):
    env = {
        "DATABASE_URL": "postgres://review:secret@db.internal:5433/review",
        "REDIS_URL": "redis://cache.internal:6379/0",
    }
    assert (
        setting(env, "settings.DATABASES['default']['ENGINE']")
        == "django.db.backends.postgresql"
    )
    assert setting(env, "settings.DATABASES['default']['PORT']") == "5433"
    assert setting(env, "settings.CELERY_TASK_ALWAYS_EAGER") == "False"
    assert setting(env, "settings.CELERY_BROKER_URL") == "redis://cache.internal:6379/0"
    assert "RedisCache" in setting(env, "settings.CACHES['default']['BACKEND']")
    sqlite_file = tmp_path / "other.sqlite3"
    assert setting(
        {"DATABASE_URL": f"sqlite:///{sqlite_file}"},
        "settings.DATABASES['default']['NAME']",
    ) == str(sqlite_file)
