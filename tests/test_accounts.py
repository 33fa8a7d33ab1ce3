"""Signing up, verifying email, resetting a password, and ORCID when configured."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from sections.models import Contributor
from tests.factories import make_manuscript, make_section

SIGN_UP = {
    "email": "erin@example.org",
    "password1": "a-long-passphrase-1",
    "password2": "a-long-passphrase-1",
    "display_name": "Erin Example",
    "handle": "erin-e",
}

ROOT = Path(__file__).resolve().parent.parent


def test_sign_up_verifies_email_and_makes_a_contributor(client: Client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "erin@example.org",
            "password1": "a-long-passphrase-1",
            "password2": "a-long-passphrase-1",
            "display_name": "Erin Example",
            "handle": "erin",
        },
    )
    assert response.status_code == 302
    assert Contributor.objects.filter(
        user__email="erin@example.org", display_name="Erin Example", handle="erin"
    ).exists()
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


def test_someone_who_signed_up_with_a_handle_is_told_of_a_mention(
    client: Client, contributor_client, db, django_capture_on_commit_callbacks
):
    assert client.post("/accounts/signup/", SIGN_UP).status_code == 302
    section = make_section(make_manuscript("A review"), "Intro", body="Text.")
    mail.outbox.clear()  # the address confirmation
    comment = reverse(
        "sections:section-comment", args=[section.manuscript.slug, section.slug]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = contributor_client.post(
            comment, {"body": "@erin-e could you check this?"}, follow=True
        )
    assert [message.to for message in mail.outbox] == [["erin@example.org"]]
    assert "could you check this?" in mail.outbox[0].body
    assert "Nobody goes by" not in response.text


@pytest.mark.parametrize(
    ("handle", "error"),
    [
        ("Maya", "@Maya is taken; choose another handle."),
        ("erin e", "A handle is letters, digits, _ and -"),
        ("", "This field is required."),
    ],
)
def test_sign_up_refuses_a_handle_taken_or_of_the_wrong_shape(
    client: Client, maintainer, handle, error
):
    Contributor.objects.filter(user=maintainer).update(handle="maya")
    response = client.post("/accounts/signup/", {**SIGN_UP, "handle": handle})
    assert response.status_code == 200
    assert error in response.text
    assert not Contributor.objects.filter(user__email="erin@example.org").exists()
    assert 'value="Erin Example"' in response.text  # nothing typed is lost


def test_a_contributor_changes_their_handle_on_my_work(
    contributor_client, contributor, maintainer
):
    assert contributor.contributor.handle == "carol"  # derived from the name
    page = contributor_client.get(reverse("sections:my-work"))
    assert 'name="handle" value="carol"' in page.text
    details = {
        "display_name": "Carol C",
        "handle": "maya",
        "orcid": "",
        "affiliations": "",
    }
    taken = contributor_client.post(reverse("sections:my-details"), details)
    assert taken.status_code == 422
    assert "@maya is taken" in taken.text
    details["handle"] = "carol-c"
    saved = contributor_client.post(reverse("sections:my-details"), details)
    assert saved.status_code == 302
    contributor.contributor.refresh_from_db()
    assert contributor.contributor.handle == "carol-c"
