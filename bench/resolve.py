"""Resolution benchmark: 600 distinct DOIs against a local doi.org that adds 100 ms to
every answer, first one at a time in this process (the baseline), then queued to a
real Celery worker over Redis, as a save or an import queues them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.resolve

It builds its own database (migrate, flush), so point it at a scratch one. Reports
wall time and upstream requests per DOI for both ways.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
if "postgres" not in os.environ.get("DATABASE_URL", "") or not os.environ.get(
    "REDIS_URL"
):
    sys.exit("bench.resolve needs DATABASE_URL (PostgreSQL) and REDIS_URL set")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from reviewapp.celery import app as celery_app  # noqa: E402
from sections import references  # noqa: E402
from sections.models import Manuscript, Reference  # noqa: E402

settings.DEBUG = False
# The stand-in doi.org is on 127.0.0.1, which outbound requests otherwise refuse.
settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
logging.getLogger("werkzeug").setLevel(logging.WARNING)
LATENCY = 0.1
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))


class SlowDoiOrg:
    """doi.org on 127.0.0.1: a CSL record for any DOI, 100 ms late, requests counted."""

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        self.server.expect_request("").respond_with_handler(self.answer)

    def answer(self, request: Request) -> Response:
        with self.lock:
            self.requests[request.path] += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(LATENCY)  # the simulated network, not a wait for our own code
        with self.lock:
            self.in_flight -= 1
        doi = request.path.lstrip("/")
        record = {
            "type": "article-journal",
            "title": f"Benchmark paper {doi}",
            "author": [{"family": "Bench", "given": "Mark"}],
            "issued": {"date-parts": [[2017]]},
            "DOI": doi,
        }
        return Response(
            json.dumps(record), content_type="application/vnd.citationstyles.csl+json"
        )


def fresh_references(count: int) -> list[Reference]:
    Reference.objects.all().delete()
    manuscript, _ = Manuscript.objects.get_or_create(
        slug="resolution-bench", defaults={"title": "Resolution bench"}
    )
    Reference.objects.bulk_create(
        Reference(
            manuscript=manuscript,
            key=f"doi:10.5555/bench.{n}",
            state=Reference.State.PENDING,
        )
        for n in range(count)
    )
    return list(Reference.objects.filter(manuscript=manuscript))


def report(name: str, seconds: float, upstream: SlowDoiOrg, count: int) -> None:
    resolved = Reference.objects.filter(state=Reference.State.RESOLVED).count()
    total = sum(upstream.requests.values())
    most = max(upstream.requests.values(), default=0)
    print(
        f"| {name} | {count} | {seconds:.1f} | {resolved} | {total / count:.2f} "
        f"| {most} | {upstream.most_in_flight} |"
    )


def one_at_a_time(upstream: SlowDoiOrg, count: int) -> None:
    waiting = fresh_references(count)
    upstream.requests.clear()
    start = time.perf_counter()
    references.fetch_all(waiting, owner="bench", progress=lambda done: None)
    report("one at a time, in process", time.perf_counter() - start, upstream, count)


def with_worker(upstream: SlowDoiOrg, count: int, pool: str) -> None:
    waiting = fresh_references(count)
    upstream.requests.clear()
    upstream.most_in_flight = 0
    celery_app.control.purge()
    env = {
        **os.environ,
        "CITATION_DOI_URL": settings.CITATION_DOI_URL,
        "OUTBOUND_ALLOWED_ADDRESSES": "127.0.0.1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "reviewapp", "worker"]
        + ["--pool", pool, "--concurrency", str(CONCURRENCY)]
        + ["--loglevel", "ERROR", "--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not celery_app.control.ping(timeout=1):
            pass  # until the worker is up and listening
        start = time.perf_counter()
        references.queue(waiting)
        pending = Reference.objects.filter(state=Reference.State.PENDING)
        while pending.exists():
            time.sleep(0.05)  # a benchmark polls; tests never do
        seconds = time.perf_counter() - start
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    report(
        f"Celery worker, {pool} pool of {CONCURRENCY}, "
        f"{settings.CITATION_MAX_PER_HOST} requests per host at once",
        seconds,
        upstream,
        count,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--baseline-count", type=int, default=600)
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork"])
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    upstream = SlowDoiOrg()
    upstream.server.start()
    settings.CITATION_DOI_URL = upstream.server.url_for("").rstrip("/")
    settings.CITATION_AUTO_RESOLVE = False
    celery_app.conf.task_always_eager = False
    try:
        print(f"local doi.org adds {LATENCY * 1000:.0f} ms to every answer")
        print(
            "| how | DOIs | wall time, s | resolved | requests per DOI "
            "| most requests for one DOI | most requests at once |"
        )
        print("|---|---|---|---|---|---|---|")
        one_at_a_time(upstream, args.baseline_count)
        with_worker(upstream, args.count, args.pool)
    finally:
        upstream.server.stop()


if __name__ == "__main__":
    main()
