"""The cast: the anonymous public, two contributors and a maintainer, who are
authors (the contributors) and maintainer of every manuscript in the test, and an
outsider, signed in and a member of none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db.models.signals import post_save
from django.test import Client

from reviewapp.celery import app as celery_app
from sections import importing, permissions
from sections.importing import ImportReport
from sections.models import Manuscript, Role
from tests import factories
from tests.factories import make_user

SEED = (
    Path(__file__).resolve().parent.parent
    / "sections"
    / "seed"
    / "deep-review-draft-2017.txt"
)
UPSTREAM = Path(__file__).resolve().parent / "fixtures" / "upstream"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test gets an empty cache: allauth keeps rate limits there, and a shared
    Redis would carry one run's sign-ups into the next."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    # Local-memory caches of one name share their storage in the process, so the
    # override alone would hand this test what the previous one cached.
    caches["default"].clear()


@pytest.fixture(autouse=True)
def figure_files(settings, tmp_path_factory) -> Path:
    """Each test keeps figure files in a folder of its own, as MEDIA_ROOT would."""
    folder = tmp_path_factory.mktemp("figures")
    settings.STORAGES = {
        **settings.STORAGES,
        "figures": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


def _cast_joins(sender: type, instance: Manuscript, created: bool, **kwargs) -> None:
    if created:
        factories.grant_cast(instance)


@pytest.fixture(autouse=True)
def cast_joins_every_manuscript():
    """The people tests make (tests.factories.CAST) are members of every manuscript
    made during the test, however it is made (factories, the importer, a view).
    Test set-up only: the application grants roles explicitly (sections.members)."""
    post_save.connect(_cast_joins, sender=Manuscript, dispatch_uid="test-cast")
    yield
    post_save.disconnect(sender=Manuscript, dispatch_uid="test-cast")
    factories.CAST.clear()


@pytest.fixture(autouse=True)
def eager_tasks():
    """Tasks run in-process, as in the embedded default; a real worker is tested on its own."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def no_outside_world(settings):
    """No test reaches a real service: each points at a closed local port until a
    test serves recorded answers (`upstream`), and fetching waits to be asked for."""
    for service in ["DOI", "CROSSREF", "NCBI", "EUTILS", "ARXIV", "ISBN"]:
        setattr(settings, f"CITATION_{service}_URL", "http://127.0.0.1:9")
    settings.CITATION_AUTO_RESOLVE = False


@pytest.fixture
def upstream(httpserver, settings):
    """Every outside citation service is the local server, with a known contact."""
    base = httpserver.url_for("").rstrip("/")
    for service in ["DOI", "CROSSREF", "NCBI", "EUTILS", "ARXIV", "ISBN"]:
        setattr(settings, f"CITATION_{service}_URL", base)
    settings.CITATION_CONTACT_EMAIL = "references@example.org"
    # The one private address outbound requests may reach: the server's own.
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    return httpserver


def recorded(name: str) -> bytes:
    """A recorded upstream answer from tests/fixtures/upstream (see its README)."""
    return (UPSTREAM / name).read_bytes()


@pytest.fixture
def contributor(db):
    return make_user("carol@example.org")


@pytest.fixture
def other_contributor(db):
    return make_user("dave@example.org")


@pytest.fixture
def maintainer(db):
    user = make_user("maya@example.org", role=Role.MAINTAINER)
    permissions.make_maintainer(user)
    return user


@pytest.fixture
def outsider(db):
    """Signed in, and a member of no manuscript: what signing up gives."""
    return make_user("olga@example.org", role=None)


@pytest.fixture
def outsider_client(outsider) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def contributor_client(contributor) -> Client:
    client = Client()
    client.force_login(contributor)
    return client


@pytest.fixture
def maintainer_client(maintainer) -> Client:
    client = Client()
    client.force_login(maintainer)
    return client


@pytest.fixture
def seed_import(db) -> ImportReport:
    """The seed manuscript, imported through the real importer."""
    return importing.import_path(SEED, format="text")


@pytest.fixture
def seed(seed_import):
    return seed_import.manuscript


def pytest_report_header(config) -> str:
    from django.conf import settings

    database = settings.DATABASES["default"]
    broker = (
        "eager (no broker)"
        if settings.CELERY_TASK_ALWAYS_EAGER
        else settings.CELERY_BROKER_URL
    )
    return f"database: {database['ENGINE']} {database.get('HOST') or database['NAME']}; celery: {broker}"
