"""A real Celery worker process over Redis, sharing the PostgreSQL test database.

These tests need both services: on the embedded default they are skipped, under
CI=true a missing one fails the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from reviewapp.celery import app as celery_app
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def _missing_services() -> str | None:
    if connection.vendor != "postgresql":
        return "the integration tests need PostgreSQL (set DATABASE_URL)"
    if django_settings.CELERY_TASK_ALWAYS_EAGER:
        return "the integration tests need Redis (set REDIS_URL)"
    return None


@pytest.fixture
def postgresql(transactional_db) -> None:
    """PostgreSQL's row locks and concurrency, which SQLite does not have."""
    if connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("CI: the concurrency tests need PostgreSQL (DATABASE_URL)")
        pytest.skip("the concurrency tests need PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def services(transactional_db) -> None:
    missing = _missing_services()
    if missing:
        if IN_CI:
            pytest.fail(f"CI: {missing}")
        pytest.skip(missing)


@pytest.fixture
def queued_for_real(services) -> Iterator[None]:
    """Tasks go to Redis, as in production, and stale ones from earlier runs go."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    yield
    celery_app.conf.task_always_eager = True


class Worker:
    """`celery worker` in a process of its own, pointed at the test database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.process = env, log, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "reviewapp", "worker", "-E"]
            + ["--pool", "threads", "--concurrency", "4", "--loglevel", "INFO"]
            + ["--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no acknowledgement, as when a machine dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_env(upstream, queued_for_real, settings) -> dict[str, str]:
    # Saves in this process queue fetching, as they do with a worker in production.
    settings.CITATION_AUTO_RESOLVE = True
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "CITATION_AUTO_RESOLVE": "1",
        "ASSEMBLY_DELAY": "0",
        # The recorded services are on 127.0.0.1. The broker keeps its production
        # visibility timeout: what a killed worker leaves is the sweep's to find.
        "OUTBOUND_ALLOWED_ADDRESSES": "127.0.0.1",
    }
    for name in ["DOI", "CROSSREF", "NCBI", "EUTILS", "ARXIV", "ISBN"]:
        env[f"CITATION_{name}_URL"] = getattr(settings, f"CITATION_{name}_URL")
    return env


@pytest.fixture
def workers(worker_env, request) -> Iterator[Callable[[], Worker]]:
    """Start workers on demand; each is stopped at the end of the test."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"worker-{request.node.name}.log"
    log.unlink(missing_ok=True)
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(worker_env, log)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@contextmanager
def worker_events(
    timeout: float = 60,
) -> Iterator[Callable[[Callable[[], bool]], None]]:
    """Wait for what workers do by their task events, not by sleeping.

    Yields `until(condition)`: it returns as soon as the condition holds, checking it
    again each time a worker reports a task done (or every second, should an event
    be missed while subscribing), and fails after `timeout` seconds.
    """
    with celery_app.connection_for_read() as connection_:
        receiver = celery_app.events.Receiver(
            connection_, handlers={"*": lambda event: None}
        )
        with receiver.consumer_context() as (conn, _channel, _consumers):

            def until(condition: Callable[[], bool]) -> None:
                deadline = time.monotonic() + timeout
                while not condition():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        pytest.fail(f"no worker made it true in {timeout} s")
                    try:
                        conn.drain_events(timeout=min(remaining, 1))
                    except TimeoutError:
                        continue

            yield until
