"""Load benchmark: a manuscript's /preview/<manuscript>/ from its stored render beside the same HTML as a static
file, both through one gunicorn on 127.0.0.1, under wrk with 64 connections.

    .venv/bin/python -m bench.preview_load          # needs Debian's wrk (apt-get install wrk)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench .venv/bin/python -m bench.preview_load

It imports the seed into the database named by DATABASE_URL if it holds no manuscript.
Only 127.0.0.1 is loaded, for a bounded time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = "64"
PREVIEW = "/preview/<manuscript>/"


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    static_root = Path(tempfile.mkdtemp(prefix="reviewapp-bench-static-"))
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "sqlite:////tmp/reviewapp-bench.sqlite3"
        ),
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "k" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    python = str(ROOT / ".venv" / "bin" / "python")
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)
    seeded = (
        subprocess.run(
            [
                *manage,
                "shell",
                "-c",
                "from sections.models import Manuscript; print(Manuscript.objects.exists())",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .endswith("True")
    )
    if not seeded:
        seed = ROOT / "sections" / "seed" / "deep-review-draft-2017.txt"
        subprocess.run(
            [*manage, "import_manuscript", str(seed), "-v0"], env=env, check=True
        )
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True)

    gunicorn = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "reviewapp.wsgi:application",
        "--bind",
        f"127.0.0.1:{PORT}",
        "--workers",
        "2",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--log-level",
        "warning",
    ]
    base = f"http://127.0.0.1:{PORT}"
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
    try:
        # /preview/ redirects to the first manuscript's preview; wrk would count the
        # redirect as a page served, so it loads the address the redirect names.
        html, headers, preview = _wait_for(f"{base}/preview/")
        # The same bytes, served as a static file by the same server (WhiteNoise).
        (static_root / "bench").mkdir()
        (static_root / "bench" / "preview.html").write_bytes(html)
        server.terminate()
        server.wait(timeout=30)
        server = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
        _wait_for(f"{base}/static/bench/preview.html")
        print(
            f"page: {len(html) / 1000:.0f} KB; gunicorn 2 workers x 4 threads; "
            f"wrk -t2 -c{CONNECTIONS} -d{DURATION}; database: {env['DATABASE_URL'].split(':')[0]}"
        )
        results = {
            "static file": _wrk(f"{base}/static/bench/preview.html"),
            PREVIEW: _wrk(preview),
            f"{PREVIEW} revalidated (304)": _wrk(
                preview, header=f"If-None-Match: {headers['ETag']}"
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(static_root, ignore_errors=True)
    print("| served | requests/s | p99 latency |")
    print("|---|---|---|")
    for name, (rps, p99) in results.items():
        print(f"| {name} | {rps:,.0f} | {p99} |")
    ratio = results[PREVIEW][0] / results["static file"][0]
    print(f"{PREVIEW} serves {ratio:.0%} of the static file's requests per second")


def _wait_for(url: str) -> tuple[bytes, dict, str]:
    """The page at `url` once the server answers, its headers, and its address after
    any redirect."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read(), dict(response.headers), response.geturl()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _wrk(url: str, *, header: str = "") -> tuple[float, str]:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url]
    if header:
        command[1:1] = ["-H", header]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))
    p99 = re.search(r"99%\s+(\S+)", done.stdout).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} failed responses\n{done.stdout}")
    return rps, p99


if __name__ == "__main__":
    main()
