"""The one HTTP client the citation resolvers use.

Every call to an outside metadata service goes through `get`: it names us in the
User-Agent (the services' etiquette: Crossref's "polite pool", NCBI and arXiv ask for
a contact), bounds time and size, takes a per-host slot, and turns every failure into
one of three exceptions the task layer tells apart: try again later
(UpstreamUnavailable), a final "no such work" (MetadataNotFound), or an answer we
can't use (MetadataInvalid).
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.cache import cache

from sections.exceptions import ReviewappError

# doi.org answers content negotiation with a 302 to the registration agency (Crossref
# sends one more); five hops is plenty for that and for publishers' landing pages.
MAX_REDIRECTS = 5
# Reading an answer may take this many CITATION_TIMEOUTs in all, however slowly its
# bytes trickle in: the per-read timeout alone would let a server hold a worker for
# hours.
TOTAL_TIMEOUTS = 2
# Final answers to a request; other 4xx are final too ("refused"), but 408 and 429
# are outages.
NOT_FOUND = {
    400: "does not take this for a valid identifier",
    404: "has no record of this",
    410: "has no record of this",
}
_CHUNK = 64 * 1024


class UpstreamUnavailable(ReviewappError):
    """The service did not answer usefully now (timeout, 429, 5xx); try again later,
    not before `retry_after` seconds when the service said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HostBusy(UpstreamUnavailable):
    """Every request slot for the host is taken: nothing was sent, nothing tried."""


class MetadataNotFound(ReviewappError):
    """The service has no record for the identifier (400, 404, 410); final.

    `body` is the service's own explanation, for resolvers that can read it (arXiv
    answers a malformed id with 400 and an Atom feed that says what is wrong).
    """

    def __init__(self, message: str, *, body: bytes = b"") -> None:
        super().__init__(message)
        self.body = body


class MetadataInvalid(ReviewappError):
    """The service answered with something we can't use: too big, empty, unparseable."""


_local = threading.local()


def _session() -> requests.Session:
    # One Session per thread reuses connections (TLS handshakes dominate small
    # requests); requests does not promise that a Session is thread-safe.
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def user_agent() -> str:
    return f"Reviewapp/0.1 (+{settings.SITE_URL}; mailto:{settings.CITATION_CONTACT_EMAIL})"


def get(
    url: str,
    *,
    params: dict[str, str] | None = None,
    accept: str | None = None,
    max_bytes: int | None = None,
    public_only: bool = False,
) -> requests.Response:
    """GET url, following redirects, and return the 2xx response with its body read.

    The body is refused above max_bytes (default CITATION_MAX_BYTES). Raises
    UpstreamUnavailable (timeout, connection error, 408, 429, 5xx, or every slot for
    the host taken), MetadataNotFound (other 4xx, or with public_only an address on
    a private network) and MetadataInvalid (oversized or empty body, redirect loops).
    """
    host = urlsplit(url).hostname or url
    limit = max_bytes or settings.CITATION_MAX_BYTES
    timeout = settings.CITATION_TIMEOUT
    deadline = time.monotonic() + TOTAL_TIMEOUTS * timeout
    headers = {"User-Agent": user_agent(), "Accept": accept or "*/*"}
    with host_slot(host):
        try:
            for _ in range(MAX_REDIRECTS + 1):
                if public_only:
                    _refuse_private(host)
                response = _session().get(
                    url,
                    params=params,
                    headers=headers,
                    timeout=timeout,
                    stream=True,
                    # Followed here: requests would read each redirect's body in
                    # full, with no size limit.
                    allow_redirects=False,
                )
                if not response.is_redirect:
                    break
                response.close()
                url, params = urljoin(url, response.headers["Location"]), None
                host = urlsplit(url).hostname or url
                if urlsplit(url).scheme not in ("http", "https"):
                    raise MetadataInvalid(f"{host} redirected to a non-web address")
            else:
                raise MetadataInvalid(
                    f"{host} redirected more than {MAX_REDIRECTS} times"
                )
            with response:
                _check_available(response, host)
                body = _read(response, host=host, limit=limit, deadline=deadline)
        except requests.Timeout as error:
            raise UpstreamUnavailable(
                f"{host} did not answer within {timeout:g} seconds"
            ) from error
        except (
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as error:
            # Also a read timeout while streaming: requests reports it as this.
            raise UpstreamUnavailable(f"the connection to {host} failed") from error
        except requests.RequestException as error:
            # A malformed address or an undecodable body: asking again won't help.
            raise MetadataInvalid(f"could not fetch from {host}: {error}") from error
    # The body is read already; this is where requests keeps it for .content/.json().
    response._content = body
    status = response.status_code
    if 400 <= status < 500:
        explanation = NOT_FOUND.get(status, "refused the request")
        raise MetadataNotFound(f"{host} {explanation} ({status})", body=body)
    if not 200 <= status < 300:
        raise MetadataInvalid(f"{host} answered {status} instead of metadata")
    if not body.strip():
        raise MetadataInvalid(f"{host} sent an empty answer")
    return response


def _refuse_private(host: str) -> None:
    """A url: key is anyone's text: never let it make a worker fetch from our own
    network (a cloud metadata service, an admin page) and show the answer.

    Checked before each hop, redirects included. A name that resolves differently a
    moment later (DNS rebinding) could still slip through; a proxy that refuses
    private addresses closes that too.
    """
    if settings.CITATION_ALLOW_PRIVATE_URLS:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return  # the request itself will fail with a readable reason
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise MetadataNotFound(
                f"{host} is on a private network; only public web pages are looked up"
            )


@contextmanager
def host_slot(host: str) -> Iterator[None]:
    """Hold one of CITATION_MAX_PER_HOST request slots for host while the block runs.

    Raises UpstreamUnavailable (retry_after=1) when every slot is taken.
    """
    # Pasting a reference list queues hundreds of fetches at once; without a cap they
    # all hit doi.org together and it answers 429, or blocks us. Workers are separate
    # processes, so the slots live in the shared cache (Redis in production). A slot
    # expires on its own after the longest a request can take, so a killed worker
    # does not keep it.
    expires = math.ceil((TOTAL_TIMEOUTS + 1) * settings.CITATION_TIMEOUT) + 1
    token = secrets.token_hex(8)
    for index in range(settings.CITATION_MAX_PER_HOST):
        slot = f"citation-slot:{host}:{index}"
        if cache.add(slot, token, timeout=expires):
            break
    else:
        raise HostBusy(f"too many requests to {host} in flight", retry_after=1)
    try:
        yield
    finally:
        # Only if still ours: after expiring, the slot may belong to someone else.
        if cache.get(slot) == token:
            cache.delete(slot)


def _check_available(response: requests.Response, host: str) -> None:
    status = response.status_code
    if status == 429:
        raise UpstreamUnavailable(
            f"{host} asks us to slow down (429)",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status == 408 or status >= 500:
        raise UpstreamUnavailable(
            f"{host} is not answering properly ({status})",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )


def _read(
    response: requests.Response, *, host: str, limit: int, deadline: float
) -> bytes:
    too_big = MetadataInvalid(f"{host} sent more than {limit:,} bytes")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    # Counted while reading too: Content-Length may be missing, wrong, or count
    # compressed bytes that inflate far beyond it.
    chunks, size = [], 0
    for chunk in response.iter_content(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_big
        if time.monotonic() > deadline:
            raise UpstreamUnavailable(f"{host} is sending its answer too slowly")
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
