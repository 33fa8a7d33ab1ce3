"""Benchmarks, run by hand (`make bench`, `make bench-services`); results in
docs/benchmarks.md."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "sections" / "seed" / "deep-review-draft-2017.txt"


def setup_embedded_django() -> None:
    """Django as a benchmark measures it: tasks in-process (no broker, whatever the
    shell has set), DEBUG off (it logs every query), the test client's host allowed,
    and a scratch SQLite file unless DATABASE_URL names another database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/reviewapp-bench.sqlite3")
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)

    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]


def median_and_p90(values: list[float]) -> tuple[float, float]:
    """The median and the 90th percentile, as every benchmark reports them (the
    inclusive method: interpolated between runs, never beyond the slowest)."""
    return (
        statistics.median(values),
        statistics.quantiles(values, n=10, method="inclusive")[-1],
    )


def median_and_p99(values: list[float]) -> tuple[float, float]:
    """The median and the 99th percentile, by the same method as median_and_p90
    (with one value, that value for both)."""
    if len(values) < 2:
        return values[0], values[0]
    return (
        statistics.median(values),
        statistics.quantiles(values, n=100, method="inclusive")[-1],
    )
