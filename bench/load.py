"""Load: simulated contributors read, edit through the editor page, preview and comment,
against gunicorn and two Celery workers on PostgreSQL and Redis; then every save the
server accepted is looked for in the final text (lost writes).

    createdb -h 127.0.0.1 -U postgres reviewapp_load_bench   # once (made if missing)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_load_bench \\
    REDIS_URL=redis://127.0.0.1:6379/6 \\
    .venv/bin/python -m bench.load --users 100 --seconds 90

It empties the database (its name must contain "bench") and the Redis database it is
given (not db 0), migrates, imports the seed, makes the contributors, collects static
files, starts gunicorn on a free port of 127.0.0.1 and two `celery worker` processes
with production settings (DEBUG=0, SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, static files
through WhiteNoise), runs the load for a bounded time and number of requests, stops
every process it started (on Ctrl-C too) and prints a table. Requests go to 127.0.0.1
only; they say they came through the HTTPS proxy production runs behind
(X-Forwarded-Proto), so its secure cookies and CSRF checks apply. The exit status is 1
when a request failed or a write was lost.

Each contributor thinks before its first action as before every other (unless
`--start-together`: all first requests in the same instant, a burst no group of people
makes), then, in a loop with a think time: opens the outline, a section page or the
seed's /preview/<manuscript>/ (reported as /preview/); or edits its section through the
editor page (GET it, read the form's fields, add its own marker to its own paragraph,
the live preview the editor's htmx posts, then Save, and the page the save redirects
to); or comments on a section through the section page's comment form.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench import ROOT, SEED, median_and_p99, setup_embedded_django
from bench.lost_writes import (
    AcceptedSave,
    add_marker,
    find_lost,
    marker_for,
    own_paragraph,
)
from bench.pages import read_page

PASSWORD = "load-bench-password-not-secret"
# Reads must answer within 300 ms and writes within a second at the 99th percentile.
READS = {"outline": 300, "section page": 300, "/preview/": 300, "editor page": 300}
WRITES = {"live preview": 1000, "save": 1000, "comment": 1000}
# What a contributor does next, by weight.
ACTIONS = {
    "outline": 15,
    "section page": 30,
    "/preview/": 15,
    "edit": 25,
    "comment": 15,
}
# allauth allows 30 sign-ins a minute from one address; the rest get a session directly.
FORM_SIGN_INS = 25
REQUEST_TIMEOUT = (5, 30)


class Stopped(Exception):
    """The run's time or request budget is spent: the contributor stops here."""


class RequestFailed(Exception):
    """No answer (recorded as an error): the contributor drops what it was doing."""


@dataclass(frozen=True)
class EditorView:
    """What one editor page showed: its base revision and a digest of its text."""

    section: str
    base: int | None
    body_digest: str


@dataclass
class Run:
    """What all contributors share: the server, the budget and what they saw."""

    base_url: str
    max_requests: int
    stop: threading.Event = field(default_factory=threading.Event)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    accepted: list[AcceptedSave] = field(default_factory=list)
    editor_views: list[EditorView] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    requests_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Every timed request as (seconds into the load when it started, action, ms),
    # for the report's windows: when in the run the slow ones happen.
    events: list[tuple[float, str, float]] = field(default_factory=list)
    load_started: float | None = None

    def take_request(self) -> None:
        with self.lock:
            if self.stop.is_set() or self.requests_sent >= self.max_requests:
                self.stop.set()
                raise Stopped
            self.requests_sent += 1

    def record(self, action: str, milliseconds: float, *, started: float) -> None:
        with self.lock:
            self.timings[action].append(milliseconds)
            if self.load_started is not None:
                self.events.append((started - self.load_started, action, milliseconds))

    def count(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1


class Contributor:
    """One simulated person with a browser session of its own."""

    def __init__(
        self,
        run: Run,
        *,
        number: int,
        section: str,
        sections: list[str],
        preview: str,
        seed: int,
    ) -> None:
        self.run, self.number = run, number
        # The section this contributor edits, those it reads and comments on, and
        # the manuscript's preview it reads.
        self.section, self.sections, self.preview = section, sections, preview
        self.random = random.Random(seed * 1000 + number)
        self.edits = 0
        self.comments = 0
        self.session = requests.Session()
        self.session.headers["X-Forwarded-Proto"] = "https"
        self.session.headers["User-Agent"] = f"reviewapp-load/{number}"
        self.origin = "https://" + urlsplit(run.base_url).netloc

    def sign_in_with_form(self, email: str) -> None:
        """Through allauth's sign-in page, as a person does."""
        page = self.request("sign-in page", "GET", "/accounts/login/")
        form = next(f for f in read_page(page.text).forms if "password" in f.fields)
        answer = self.request(
            "sign in (form)",
            "POST",
            form.action or "/accounts/login/",
            referer="/accounts/login/",
            data={**form.fields, "login": email, "password": PASSWORD},
        )
        if answer.status_code != 302:
            raise RuntimeError(
                f"sign-in of {email} answered {answer.status_code}: "
                + " ".join(answer.text[:300].split())
            )

    def use_session(self, session_key: str) -> None:
        self.session.cookies.set("sessionid", session_key, domain="127.0.0.1")

    def live(self, think: float, *, think_first: bool = True) -> None:
        """Act until the run stops; every outcome is recorded in the run."""
        actions, weights = zip(*ACTIONS.items(), strict=True)
        if think_first:
            try:
                self.pause(think)
            except Stopped:
                return
        while not self.run.stop.is_set():
            try:
                self.act(self.random.choices(actions, weights)[0], think)
                self.pause(think)
            except RequestFailed:
                self.run.stop.wait(think)
            except Stopped:
                return
            except Exception as error:  # e.g. a page without its form: a failure too
                self.run.errors.append(f"contributor {self.number} gave up: {error!r}")
                return

    def act(self, action: str, think: float) -> None:
        if action == "outline":
            self.request("outline", "GET", "/")
        elif action == "/preview/":
            self.request("/preview/", "GET", self.preview)
        elif action == "section page":
            self.request("section page", "GET", self.random.choice(self.sections))
        elif action == "edit":
            self.edit(think)
        else:
            self.comment(think)

    def pause(self, think: float) -> None:
        if self.run.stop.wait(self.random.uniform(0.5 * think, 1.5 * think)):
            raise Stopped

    def edit(self, think: float) -> None:
        editor_url = self.section + "edit/"
        page = self.request("editor page", "GET", editor_url)
        if page.status_code != 200:
            return
        read = read_page(page.text)
        form = read.form("edit-form")
        body = form.fields["body"]
        base = form.fields.get("base")
        self.run.editor_views.append(
            EditorView(
                self.section,
                int(base) if base else None,
                hashlib.sha256(body.encode()).hexdigest(),
            )
        )
        self.edits += 1
        marker = marker_for(self.number, self.edits)
        body = add_marker(body, user=self.number, marker=marker)
        self.pause(think / 2)  # typing
        live = read.hx_post("live-preview")
        self.request(
            "live preview",
            "POST",
            live.url,
            referer=editor_url,
            headers={**live.headers, "HX-Request": "true", "HX-Target": live.id},
            data={"title": form.fields["title"], "body": body},
        )
        self.pause(think / 4)
        fields = {**form.fields, "body": body, "summary": f"load {marker}", "save": ""}
        saved = self.request(
            "save", "POST", form.action, referer=editor_url, data=fields
        )
        if saved.status_code == 409:
            self.run.count("conflict (409)")
            return
        if saved.status_code != 302:
            return
        # Accepted: its marker must survive, whatever the page it lands on says.
        self.run.accepted.append(AcceptedSave(self.section, self.number, marker))
        landed = self.request("section page", "GET", saved.headers["Location"])
        messages = " ".join(read_page(landed.text).messages)
        if "both are kept" in messages:
            self.run.count("saved, merged")
        elif "Nothing changed" in messages:  # it did change: the check will say
            self.run.count("nothing changed (unexpected)")

    def comment(self, think: float) -> None:
        section = self.random.choice(self.sections)
        page = self.request("section page", "GET", section)
        if page.status_code != 200:
            return
        form = read_page(page.text).form("comment-form")
        self.pause(think / 2)
        self.comments += 1
        self.request(
            "comment",
            "POST",
            form.action,
            referer=section,
            headers={"HX-Request": "true", "HX-Target": "comments"},
            data={
                **form.fields,
                "body": f"Comment {self.comments} of load contributor {self.number}.",
            },
        )

    def request(
        self,
        action: str,
        method: str,
        path: str,
        *,
        referer: str = "",
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> requests.Response:
        """One timed request; a failure is recorded (a 409 on save is a conflict)."""
        self.run.take_request()
        if path.startswith("http"):  # a redirect's absolute Location
            path = urlsplit(path)._replace(scheme="", netloc="").geturl()
        headers = dict(headers or {})
        if referer:
            headers["Referer"] = self.origin + referer
        if method == "POST":
            headers["Origin"] = self.origin  # as browsers send with every POST
        # Production's cookies are Secure, which requests keeps to https: sent here
        # by hand, as the browser sends them to the proxy in front of gunicorn.
        headers["Cookie"] = "; ".join(
            f"{c.name}={c.value}" for c in self.session.cookies
        )
        # One connection per request, as a proxy opens them to gunicorn (nginx's
        # default): a kept-alive one can be closed by gunicorn as a POST is sent on it.
        headers["Connection"] = "close"
        start = time.perf_counter()
        try:
            response = self.session.request(
                method,
                self.run.base_url + path,
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException as error:
            self.run.errors.append(f"{action} {method} {path}: {error}")
            raise RequestFailed from error
        self.run.record(action, (time.perf_counter() - start) * 1000, started=start)
        expected = response.status_code < 400 or (
            action == "save" and response.status_code == 409
        )
        if not expected:
            self.run.errors.append(
                f"{action} {method} {path}: {response.status_code} "
                + " ".join(response.text[:200].split())
            )
        return response


def main() -> None:
    options = _options()
    database_url, redis_url = _scratch_services()
    secret_key = "load-bench-" + secrets.token_urlsafe(48)
    os.environ["SECRET_KEY"] = secret_key  # sessions made here must be valid there
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    setup_embedded_django()
    # Ctrl-C and SIGTERM both unwind through the `finally`s that stop the servers
    # (Ctrl-C too when started from a shell that ignores it in background jobs).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="reviewapp-load-"))
    print(f"preparing {database_url.rsplit('/', 1)[-1]}; logs in {work}", flush=True)
    try:
        failed = _prepare_and_load(
            options, database_url, redis_url, secret_key=secret_key, work=work
        )
    except KeyboardInterrupt:
        sys.exit("interrupted; every process it started is stopped")
    finally:
        shutil.rmtree(work / "static", ignore_errors=True)  # the logs stay
    if failed:
        sys.exit(1)


def _prepare_and_load(
    options: argparse.Namespace,
    database_url: str,
    redis_url: str,
    *,
    secret_key: str,
    work: Path,
) -> bool:
    """The whole run, report included; True when a request failed or a write was
    lost."""
    edited, read_urls, preview, emails = _prepare(options, redis_url)
    env = _server_env(database_url, redis_url, secret_key, work / "static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = _free_port()
    run = Run(base_url=f"http://127.0.0.1:{port}", max_requests=options.max_requests)
    database = _database_name(database_url)
    with _services(options, env, port, work) as groups:
        contributors = [
            Contributor(
                run,
                number=n,
                section=edited[n % len(edited)],
                sections=read_urls,
                preview=preview,
                seed=options.seed,
            )
            for n in range(options.users)
        ]
        _sign_in(contributors, emails, form_sign_ins=options.form_sign_ins)
        started, signed_in = time.monotonic(), run.requests_sent
        run.load_started = time.perf_counter()
        cpu_before = _cpu_seconds(groups, database=database)
        threads = [
            threading.Thread(
                target=c.live,
                args=(options.think,),
                kwargs={"think_first": not options.start_together},
                daemon=True,
            )
            for c in contributors
        ]
        for thread in threads:
            thread.start()
        run.stop.wait(options.seconds)
        run.stop.set()
        # The hard stop: no request outlives its timeout, and no one waits longer.
        hard_stop = time.monotonic() + REQUEST_TIMEOUT[1] + 5
        for thread in threads:
            thread.join(timeout=max(0, hard_stop - time.monotonic()))
        elapsed = time.monotonic() - started
        cpu = {
            name: seconds - cpu_before.get(name, 0)
            for name, seconds in _cpu_seconds(groups, database=database).items()
        }
        still_running = sum(thread.is_alive() for thread in threads)
        queued = _queued_tasks(redis_url)
    lost = _lost(run)
    _report(
        run,
        options,
        lost=lost,
        load_requests=run.requests_sent - signed_in,
        cpu=cpu,
        elapsed=elapsed,
        queued=queued,
        still_running=still_running,
    )
    return bool(run.errors or lost)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=90, help="of load")
    parser.add_argument(
        "--think", type=float, default=5, help="mean seconds between actions"
    )
    parser.add_argument(
        "--sections", type=int, default=3, help="sections the users edit"
    )
    parser.add_argument(
        "--start-together",
        action="store_true",
        help="every contributor's first request at the same instant (no first think)",
    )
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--form-sign-ins", type=int, default=FORM_SIGN_INS)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=1)
    parser.add_argument("--seed", type=int, default=12)
    return parser.parse_args()


def _scratch_services() -> tuple[str, str]:
    """DATABASE_URL and REDIS_URL, refused unless both are safe to empty."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        sys.exit(
            "bench.load needs DATABASE_URL (a scratch PostgreSQL database) and "
            "REDIS_URL (a Redis database of its own)"
        )
    if "bench" not in urlsplit(database_url).path:
        sys.exit("bench.load empties its database: name one with 'bench' in it")
    if urlsplit(redis_url).path.strip("/") in ("", "0"):
        sys.exit("bench.load empties its Redis database: name one other than db 0")
    _create_database_if_missing(database_url)
    return database_url, redis_url


def _create_database_if_missing(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        psycopg.connect(database_url).close()
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise
        name = urlsplit(database_url).path.lstrip("/")
        server = database_url[: -len(name)] + "postgres"
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            )


def _prepare(
    options: argparse.Namespace, redis_url: str
) -> tuple[list[str], list[str], str, list[str]]:
    """A fresh database with the seed, the contributors and one paragraph of each
    in the section it edits. Returns the edited sections' URLs, every section's URL,
    the seed's preview URL and the contributors' emails."""
    import redis
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.urls import reverse

    from sections import contributors, importing, revisions
    from sections.models import Membership, Role

    redis.Redis.from_url(redis_url).flushdb()  # old queues, caches and rate limits
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    seed = importing.import_path(SEED, format="text").manuscript
    User = get_user_model()
    password = make_password(PASSWORD)  # hashed once: it is the same for everyone
    emails = [f"load{n}@example.org" for n in range(options.users)]
    users = User.objects.bulk_create(
        User(username=email.split("@")[0], email=email, password=password)
        for email in emails
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True)
        for user in users
    )
    for user in users:
        contributors.for_user(user)
    # Signing up grants nothing: the load's contributors are the seed's authors.
    Membership.objects.bulk_create(
        Membership(manuscript=seed, user=user, role=Role.AUTHOR) for user in users
    )
    sections = list(
        seed.sections.filter(removed_at=None).exclude(body="").order_by("position")
    )
    step = max(1, len(sections) // options.sections)
    edited = sections[::step][: options.sections]
    for index, section in enumerate(edited):
        mine = range(index, options.users, len(edited))
        body = section.body.rstrip() + "".join(f"\n\n{own_paragraph(n)}" for n in mine)
        latest = section.revisions.order_by("-created_at", "-id").first()
        revisions.save_edit(
            section, body=body + "\n", by=users[0], summary="load setup", base=latest.pk
        )
    return (
        [section.get_absolute_url() for section in edited],
        [section.get_absolute_url() for section in sections],
        reverse("sections:preview", args=[seed.slug]),
        emails,
    )


def _server_env(
    database_url: str, redis_url: str, secret_key: str, static_root: Path
) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
    }
    # Nothing leaves the machine: every outside service is a closed local port.
    for service in ["DOI", "CROSSREF", "NCBI", "EUTILS", "ARXIV", "ISBN"]:
        env[f"CITATION_{service}_URL"] = "http://127.0.0.1:9"
    env.pop("CELERY_BROKER_URL", None)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _services(
    options: argparse.Namespace, env: dict[str, str], port: int, work: Path
) -> Iterator[dict[str, list[int]]]:
    """gunicorn and two Celery workers, each stopped (its whole process group) on
    the way out, however the way out is taken. Yields their process groups."""
    bin_dir = Path(sys.executable).parent
    commands = {
        "gunicorn": [
            str(bin_dir / "gunicorn"),
            "reviewapp.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(options.gunicorn_workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(options.gunicorn_threads),
            "--log-level",
            "warning",
        ],
        **{
            f"worker{n}": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "reviewapp",
                "worker",
                "-n",
                f"load{n}@%h",
                "--concurrency",
                str(options.worker_concurrency),
                "--loglevel",
                "INFO",
            ]
            for n in (1, 2)
        },
    }
    started: list[subprocess.Popen] = []
    groups: dict[str, list[int]] = {"gunicorn": [], "Celery workers": []}
    try:
        for name, command in commands.items():
            with (work / f"{name}.log").open("ab") as log:
                started.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
                kind = "gunicorn" if name == "gunicorn" else "Celery workers"
                groups[kind].append(started[-1].pid)
        _wait_until_serving(f"http://127.0.0.1:{port}/healthz/", started[0])
        for n in (1, 2):
            _wait_until_logged(work / f"worker{n}.log", "ready.", started[n])
        yield groups
    finally:
        for process in started:
            _stop(process)


def _wait_until_serving(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = requests.get(
                url, headers={"X-Forwarded-Proto": "https"}, timeout=5
            )
            if answer.status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still booting
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not serve {url}")
        time.sleep(0.2)


def _wait_until_logged(log: Path, text: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"no {text!r} in {log}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process and its children (a warm shutdown), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; children left in its group go too.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


def _sign_in(
    contributors: list[Contributor], emails: list[str], *, form_sign_ins: int
) -> None:
    """The first `form_sign_ins` through the sign-in form; the others get a session
    made here, in the shared database, since allauth limits sign-ins per address."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = {user.email: user for user in get_user_model().objects.all()}
    for contributor, email in zip(contributors, emails, strict=True):
        if contributor.number < form_sign_ins:
            contributor.sign_in_with_form(email)
        else:
            client = Client()
            client.force_login(users[email])
            contributor.use_session(client.cookies["sessionid"].value)


def _database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def _cpu_seconds(groups: dict[str, list[int]], *, database: str) -> dict[str, float]:
    """CPU seconds used so far: by each group of processes we started, by
    PostgreSQL's backends for `database`, by this client, and by the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    kind_of = {pgid: kind for kind, pgids in groups.items() for pgid in pgids}
    used = dict.fromkeys([*groups, "PostgreSQL"], 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if int(fields[2]) in kind_of:  # its process group
            used[kind_of[int(fields[2])]] += seconds
        elif command.startswith(b"postgres: ") and f" {database} ".encode() in command:
            used["PostgreSQL"] += seconds
    client = resource.getrusage(resource.RUSAGE_SELF)
    used["this client"] = client.ru_utime + client.ru_stime
    cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    idle = int(cpu[3]) + int(cpu[4])  # idle, iowait
    used["the whole machine"] = (sum(int(n) for n in cpu[:8]) - idle) / tick
    return used


def _queued_tasks(redis_url: str) -> int:
    import redis

    return redis.Redis.from_url(redis_url).llen("celery")


def _lost(run: Run) -> list[AcceptedSave]:
    from sections.models import Section

    final = {
        section.get_absolute_url(): section.body
        for section in Section.objects.select_related("manuscript")
    }
    return find_lost(run.accepted, final)


def _who_dropped(save: AcceptedSave) -> str:
    """Which revision first held the save's marker and which later one dropped it."""
    from sections.models import Revision

    history = list(
        Revision.objects.filter(summary=f"load {save.marker}").values_list(
            "section_id", flat=True
        )
    )
    if not history:
        return f"{save.marker}: in no revision"
    revisions = list(
        Revision.objects.filter(section_id=history[0]).order_by("created_at", "id")
    )
    first = next(r for r in revisions if save.marker in r.body.split())
    dropped = next(
        (r for r in revisions if r.pk > first.pk and save.marker not in r.body.split()),
        None,
    )
    if dropped is None:
        return f"{save.marker}: saved in revision {first.pk}, still in the latest"
    return (
        f"{save.marker}: saved in revision {first.pk}, dropped by revision "
        f"{dropped.pk} ({dropped.summary}, saved on top of {dropped.based_on_id})"
    )


def _stale_editor_pages(run: Run) -> int:
    """Editor pages whose text was not the text of the revision they named as base."""
    from sections.models import Revision

    bases = {view.base for view in run.editor_views if view.base is not None}
    digests = {
        pk: hashlib.sha256(body.encode()).hexdigest()
        for pk, body in Revision.objects.filter(pk__in=bases).values_list("pk", "body")
    }
    return sum(
        1 for view in run.editor_views if digests.get(view.base) != view.body_digest
    )


def _report(
    run: Run,
    options: argparse.Namespace,
    *,
    lost: list[AcceptedSave],
    load_requests: int,
    cpu: dict[str, float],
    elapsed: float,
    queued: int,
    still_running: int,
) -> None:
    targets = {**READS, **WRITES}
    print(
        f"{options.users} contributors, think time {options.think:g} s "
        f"(0.5x-1.5x{', first requests together' if options.start_together else ', before the first request too'}), "
        f"{options.sections} sections edited; gunicorn "
        f"{options.gunicorn_workers} workers x {options.gunicorn_threads} threads, "
        f"2 Celery workers x {options.worker_concurrency}; DEBUG=0, PostgreSQL, Redis"
    )
    print(
        f"{load_requests} requests in {elapsed:.0f} s of load "
        f"({load_requests / elapsed:.1f}/s), after signing in"
    )
    print("| action | requests | p50 ms | p99 ms | max ms | p99 target |")
    print("|---|---|---|---|---|---|")
    missed = []
    for action in ["sign-in page", "sign in (form)", *READS, *WRITES]:
        values = run.timings.get(action, [])
        if not values:
            continue
        p50, p99 = median_and_p99(values)
        target = targets.get(action)
        verdict = (
            ""
            if target is None
            else f"< {target}: " + ("met" if p99 < target else "MISSED")
        )
        if target is not None and p99 >= target:
            missed.append(action)
        print(
            f"| {action} | {len(values)} | {p50:.0f} | {p99:.0f} | "
            f"{max(values):.0f} | {verdict} |"
        )
    saves = len(run.accepted)
    print(
        f"saves accepted: {saves} ({run.outcomes['saved, merged']} merged with a save "
        f"made meanwhile); conflicts (409): {run.outcomes['conflict (409)']}"
        + (
            f"; nothing changed: {run.outcomes['nothing changed (unexpected)']}"
            if run.outcomes["nothing changed (unexpected)"]
            else ""
        )
    )
    print(
        f"editor pages whose text was not their base revision's: "
        f"{_stale_editor_pages(run)} of {len(run.editor_views)}"
    )
    print(f"errors: {len(run.errors)}; lost writes: {len(lost)} of {saves}")
    for error in run.errors[:10]:
        print(f"  error: {error}")
    for save in lost[:10]:
        print(f"  lost: {_who_dropped(save)}")
    ours = sum(v for k, v in cpu.items() if k != "the whole machine")
    cores = os.cpu_count() or 1
    print(
        f"CPU seconds during the load ({cores} cores x {elapsed:.0f} s = "
        f"{cores * elapsed:.0f}): "
        + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items() if k != "the whole machine")
        + f"; everything else on the machine {cpu['the whole machine'] - ours:.0f}"
    )
    if cpu["the whole machine"] - ours > 0.25 * cores * elapsed:
        print(
            "  (other work took more than a quarter of the machine: the latencies "
            "are not the stack's alone)"
        )
    print(
        f"tasks still queued when the load stopped: {queued}; contributors still "
        f"waiting for an answer at the hard stop: {still_running}"
    )
    _report_windows(run)
    failures = missed + ["errors"] * bool(run.errors) + ["lost writes"] * bool(lost)
    print(
        "targets (p99 reads < 300 ms, writes < 1 s, 0 errors, 0 lost): "
        + ("MISSED: " + ", ".join(failures) if failures else "met")
    )


WINDOW_SECONDS = 10


def _report_windows(run: Run) -> None:
    """Reads and saves per window of the load, and the slowest requests: whether the
    tail is at the start (cold caches), all along, or where saves are."""
    if not run.events:
        return
    print(f"per {WINDOW_SECONDS} s window of the load (reads: {', '.join(READS)}):")
    print(
        "| from s | reads | read p50 ms | read p99 ms | read max ms | saves | save p99 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    windows: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for at, action, ms in run.events:
        windows[int(at // WINDOW_SECONDS)].append((action, ms))
    for window in sorted(windows):
        reads = [ms for action, ms in windows[window] if action in READS]
        saves = [ms for action, ms in windows[window] if action == "save"]
        read_p50, read_p99 = median_and_p99(reads) if reads else (0, 0)
        save_p99 = median_and_p99(saves)[1] if saves else 0
        print(
            f"| {window * WINDOW_SECONDS} | {len(reads)} | {read_p50:.0f} | "
            f"{read_p99:.0f} | {max(reads, default=0):.0f} | {len(saves)} | "
            f"{save_p99:.0f} |"
        )
    slowest = sorted(run.events, key=lambda event: -event[2])[:8]
    print(
        "slowest requests: "
        + "; ".join(
            f"{action} at {at:.1f} s took {ms:.0f} ms" for at, action, ms in slowest
        )
    )


if __name__ == "__main__":
    main()
