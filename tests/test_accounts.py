"""Signing up, verifying email, resetting a password, and ORCID when configured."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from django.core import mail
from django.test import Client

from sections.models import Contributor

ROOT = Path(__file__).resolve().parent.parent


def test_sign_up_verifies_email_and_makes_a_contributor(client: Client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "erin@example.org",
            "password1": "a-long-passphrase-1",
            "password2": "a-long-passphrase-1",
        },
    )
    assert response.status_code == 302
    assert Contributor.objects.filter(user__email="erin@example.org").exists()
    assert len(mail.outbox) == 1
    link = re.search(
        r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body
    ).group()
    # Not in until the address is confirmed.
    assert client.get("/").context.get("outlines") is None
    client.post(link.replace("http://testserver", ""))
    client.post(
        "/accounts/login/",
        {"login": "erin@example.org", "password": "a-long-passphrase-1"},
    )
    assert client.get("/").context["outlines"] == []


def test_password_reset_sends_a_link_by_email(client: Client, contributor):
    client.post("/accounts/password/reset/", {"email": "carol@example.org"})
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_sign_in_with_orcid_is_offered_only_when_configured(tmp_path):
    script = (
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from django.test import Client; page = Client(HTTP_HOST='localhost').get('/accounts/login/');"
        "assert page.status_code == 200, page.status_code; print('/accounts/orcid/login/' in page.text)"
    )

    def offers_orcid(extra: dict) -> str:
        env = {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            **extra,
        }
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    assert offers_orcid({}) == "False"
    assert (
        offers_orcid({"ORCID_CLIENT_ID": "APP-123", "ORCID_SECRET": "s3cret"}) == "True"
    )
