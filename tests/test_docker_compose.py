"""The compose stack, image and env example agree with the code they start."""

import ast
import importlib
import inspect
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.http.request import validate_host
from django.urls import resolve

ROOT = Path(__file__).resolve().parent.parent
SERVICES = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
APP_SERVICES = sorted(name for name, service in SERVICES.items() if "build" in service)
DEPLOY_CHECK = "manage.py check --deploy --fail-level WARNING"
WEB_STARTUP = [
    f"python {DEPLOY_CHECK}",
    "python manage.py migrate --noinput",
    "python manage.py render_manuscripts",
]


def settings_env_names() -> set[str]:
    """Names settings.py reads through its env_* helpers."""
    tree = ast.parse((ROOT / "reviewapp" / "settings.py").read_text())
    readers = {"env_str", "env_bool", "env_int", "env_float", "env_list"}
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in readers
        if node.args and isinstance(node.args[0], ast.Constant)
    }


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and line[0] != "#"]
    return {name.strip(): value.strip() for name, value in pairs}


def command(name: str) -> list[str]:
    cmd = SERVICES[name]["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else [str(arg) for arg in cmd]


def environment(name: str) -> dict[str, str]:
    env = SERVICES[name].get("environment") or {}
    return dict(item.split("=", 1) for item in env) if isinstance(env, list) else env


def test_compose_runs_five_healthchecked_services_three_from_the_app_image():
    assert set(SERVICES) == {"db", "redis", "web", "worker", "beat"}
    assert APP_SERVICES == ["beat", "web", "worker"]
    for name, service in SERVICES.items():
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in APP_SERVICES:
        for dependency in ("db", "redis"):
            condition = SERVICES[name]["depends_on"][dependency]["condition"]
            assert condition == "service_healthy", (name, dependency)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_compose_command_names_a_real_module(name):
    args = command(name)
    if args[0] == "gunicorn":
        targets = [a for a in args if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", a)]
        assert len(targets) == 1, "gunicorn needs exactly one module:attribute"
        module, attribute = targets[0].split(":")
        app = getattr(importlib.import_module(module), attribute)
        assert list(inspect.signature(app).parameters) == ["environ", "start_response"]
    else:
        assert args[0] == "celery", f"{name} runs neither gunicorn nor celery"
        flag = next(i for i, arg in enumerate(args) if arg in ("-A", "--app"))
        assert isinstance(find_app(args[flag + 1]), Celery)  # as `celery -A` finds it
        assert name in args[flag + 2 :]  # service worker runs `worker`, beat `beat`


def test_web_healthcheck_gets_healthz_as_an_allowed_https_request(monkeypatch):
    probe = SERVICES["web"]["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "python", "-c"]  # slim images have no curl
    hosts = env_example()["ALLOWED_HOSTS"].split(",")
    monkeypatch.setenv("ALLOWED_HOSTS", ",".join(hosts))
    sent = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda req, **kw: sent.append(req))
    exec(probe[3], {})
    (request,) = sent
    url, web = urlsplit(request.full_url), command("web")
    assert url.port == int(web[web.index("--bind") + 1].rsplit(":", 1)[1])
    assert resolve(url.path).url_name == "healthz"
    assert validate_host(request.get_header("Host"), hosts)  # else 400
    assert request.get_header("X-forwarded-proto") == "https"  # else SSL redirect


def test_every_configured_variable_is_one_settings_reads():
    read = settings_env_names()
    assert {"SECRET_KEY", "DATABASE_URL", "SECURE_SSL_REDIRECT"} <= read
    assert not set(env_example()) - read
    for name in APP_SERVICES:
        assert SERVICES[name]["env_file"] in (".env", [".env"])
        assert not set(environment(name)) - read


def test_dockerfile_entrypoint_is_an_executable_file_run_by_a_non_root_user():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    last = dict(line.split(None, 1) for line in lines if line[:1].isupper())
    workdir, entrypoint = last["WORKDIR"], json.loads(last["ENTRYPOINT"])[0]
    path = ROOT / Path(workdir, entrypoint).relative_to(workdir)
    assert path.is_file()
    assert path.stat().st_mode & 0o111
    assert last["USER"] not in ("root", "0")


@pytest.mark.parametrize(
    ("cmd", "runs_first"),
    [
        ("gunicorn reviewapp.wsgi:application", WEB_STARTUP),
        ("celery -A app worker", []),
    ],
)
def test_entrypoint_checks_deploy_and_migrates_for_web_only(tmp_path, cmd, runs_first):
    log = tmp_path / "log"
    for tool in ("python", "gunicorn", "celery"):  # stand-ins that log their calls
        (tmp_path / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        (tmp_path / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    entrypoint = ROOT / "docker" / "entrypoint.sh"
    subprocess.run(["sh", entrypoint, *cmd.split()], env=env, check=True)
    assert log.read_text().splitlines() == [*runs_first, cmd]


def test_example_env_passes_the_deploy_check_the_web_container_runs():
    env = {"PATH": os.environ["PATH"], **env_example(), **environment("web")}
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    check = [sys.executable, *DEPLOY_CHECK.split()]
    result = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
