"""A real worker prints the PDF a contributor asked for on the web; the page waits
for it, then hands it over from the cache both share."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from sections import exporting
from tests.conftest import IN_CI
from tests.factories import make_manuscript, make_section
from tests.integration.conftest import worker_events

pytestmark = pytest.mark.integration


def test_a_worker_prints_the_pdf_while_the_page_waits(
    workers, contributor_client, settings
):
    if not Path(settings.CHROMIUM_PATH).exists():
        if IN_CI:
            pytest.fail("CI needs Debian's chromium (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    # The cache the worker writes to (REDIS_URL), as web and workers share it.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
        }
    }
    manuscript = make_manuscript("Printed review")
    make_section(manuscript, "Intro", body="Printed by a worker.")
    # An earlier run's PDF of the same text would be served at once.
    cache.delete_many([f"pdf:{manuscript.pk}", f"pdf-error:{manuscript.pk}"])
    url = reverse("sections:export", args=[manuscript.slug, "pdf"])
    workers()

    with worker_events(timeout=120) as until:
        waiting = contributor_client.get(url)
        assert waiting.status_code == 202
        assert 'http-equiv="refresh"' in waiting.content.decode()
        until(
            lambda: (
                (state := exporting.pdf_state(manuscript)).pdf is not None
                or state.error
            )
        )

    ready = contributor_client.get(url)
    assert ready.status_code == 200, ready.content[:300]
    assert ready["Content-Type"] == "application/pdf"
    assert ready.content.startswith(b"%PDF")
