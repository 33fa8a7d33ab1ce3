"""The one HTTP client of the application: every outbound request goes through `get`.

It names us in the User-Agent (the services' etiquette: Crossref's "polite pool", NCBI
and arXiv ask for a contact), bounds time and size, takes a per-host slot, refuses to
connect anywhere but the public internet, and turns every failure into one of four
exceptions the task layer tells apart: try again later (UpstreamUnavailable), a final
"no such work" (MetadataNotFound), an answer we can't use (MetadataInvalid), or an
address we never connect to (AddressRefused).

The address guard sits in the connection itself (`_GuardedConnection`): the name is
resolved once, every address it resolves to is checked, and the socket is opened to
a checked address, so a second, different DNS answer (rebinding) is never asked for.
TLS still verifies the certificate for the name, and the Host header names it.
Redirects are followed here, hop by hop, each hop through the same guard.

Time is one budget (`deadline`): connecting, headers, body, every redirect and every
fallback of one look-up share it, and when it runs out the socket is shut from a
timer, so an upstream trickling a byte a second cannot hold a worker past it.
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
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection

from sections.exceptions import ReviewappError

# doi.org answers content negotiation with a 302 to the registration agency (Crossref
# sends one more); five hops is plenty for that and for publishers' landing pages.
MAX_REDIRECTS = 5
# 64:ff9b::/96 (RFC 6052) carries an IPv4 address to a NAT64 gateway, which then
# connects to it: a private IPv4 address inside is as private as on its own.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
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


class AddressRefused(ReviewappError):
    """A host (or a redirect's) is on a private, loopback, link-local, multicast or
    reserved address, or its name could not be looked up: nothing was sent; final."""


class Deadline:
    """One budget of seconds for everything a look-up sends and reads.

    Sockets are `watch`ed while the budget runs; when it runs out a timer shuts
    them, which ends a read blocked on a trickling server at once (a socket timeout
    only bounds the wait for the next byte, not for the whole answer).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return max(0.0, self.expires - time.monotonic())

    def watch(self, sock: socket.socket | None) -> None:
        # The socket, not the connection: http.client drops a connection's socket
        # while a close-delimited answer is still being read from it.
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    # shutdown(), not close(): it wakes a recv() blocked in the reading thread.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already: nothing left to stop


_budget: ContextVar[Deadline | None] = ContextVar("outbound_budget", default=None)


@contextmanager
def deadline(seconds: float | None = None) -> Iterator[Deadline]:
    """Run the block's requests under one budget (default CITATION_DEADLINE seconds).

    Nested, the outer budget is the one that counts: a fallback gets what the first
    try left, not a budget of its own.
    """
    current = _budget.get()
    if current is not None:
        yield current
        return
    budget = Deadline(settings.CITATION_DEADLINE if seconds is None else seconds)
    token = _budget.set(budget)
    budget._timer.start()
    try:
        yield budget
    finally:
        budget._timer.cancel()
        _budget.reset(token)


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet: not loopback, private,
    link-local, multicast, reserved or unspecified, nor one of those inside an
    IPv6 address (IPv4-mapped, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address.teredo:
            embedded.append(address.teredo[1])
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(inner is not None and not is_public(inner) for inner in embedded):
            return False
    return address.is_global and not address.is_multicast


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # OUTBOUND_ALLOWED_ADDRESSES names single addresses (tests serve on 127.0.0.1);
    # settings refuse it in production.
    allowed = {ipaddress.ip_address(a) for a in settings.OUTBOUND_ALLOWED_ADDRESSES}
    return is_public(address) or address in allowed


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses host resolves to, every one of them allowed, in resolver order.

    Raises AddressRefused when any is not (a name with one private address among
    public ones is refused: the next lookup could pick it) or the lookup fails, and
    UpstreamUnavailable when the resolver says to try again.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno == socket.EAI_AGAIN:
            raise UpstreamUnavailable(f"{host} could not be looked up now") from error
        raise AddressRefused(
            f"{host} could not be looked up, so it is not asked"
        ) from error
    except UnicodeError as error:
        raise AddressRefused(f"{host} is not a host name") from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        if not _allowed(ipaddress.ip_address(address.split("%")[0])):
            raise AddressRefused(
                f"{host} is on a private network ({address}); "
                "only public addresses are asked"
            )
    if not addresses:
        raise AddressRefused(f"{host} could not be looked up, so it is not asked")
    return addresses


class _GuardedConnection(HTTPConnection):
    """An urllib3 connection that opens its socket only to a checked address."""

    def _new_conn(self) -> socket.socket:
        error: OSError | None = None
        # Connected to the address just checked, never to the name: resolving it
        # again could answer differently (DNS rebinding).
        for address in checked_addresses(self._dns_host, self.port):
            try:
                sock = urllib3_connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as failed:
                error = failed
                continue
            _watch(sock)
            return sock
        raise OSError(f"could not connect to {self.host}") from error

    def request(self, *args: object, **kwargs: object) -> None:
        # A connection reused from the pool is watched by the current budget too.
        _watch(self.sock)
        super().request(*args, **kwargs)


def _watch(sock: socket.socket | None) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.watch(sock)


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    """As `_GuardedConnection`; HTTPSConnection.connect wraps the socket it returns
    with SNI and certificate checks for the host name."""


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


_local = threading.local()


def _session() -> requests.Session:
    # One Session per thread reuses connections (TLS handshakes dominate small
    # requests); requests does not promise that a Session is thread-safe.
    if not hasattr(_local, "session"):
        session = requests.Session()
        # No proxy from the environment (HTTP_PROXY…): the guard must see the address
        # connected to, and a proxy would connect for us wherever it is told.
        session.trust_env = False
        adapter = _GuardedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return _local.session


def user_agent() -> str:
    return f"Reviewapp/0.1 (+{settings.SITE_URL}; mailto:{settings.CITATION_CONTACT_EMAIL})"


def get(
    url: str,
    *,
    params: dict[str, str] | None = None,
    accept: str | None = None,
    max_bytes: int | None = None,
) -> requests.Response:
    """GET url, following redirects, and return the 2xx response with its body read.

    Every hop connects only to public addresses (AddressRefused otherwise, before
    anything is sent) and all of them share the current `deadline` (one of
    CITATION_DEADLINE seconds when none is open). The body is refused above
    max_bytes (default CITATION_MAX_BYTES). Raises UpstreamUnavailable (timeout,
    deadline, connection error, 408, 429, 5xx, or every slot for the host taken),
    MetadataNotFound (other 4xx) and MetadataInvalid (oversized or empty body, too
    many redirects, a redirect off the web).
    """
    host = urlsplit(url).hostname or url
    limit = max_bytes or settings.CITATION_MAX_BYTES
    headers = {"User-Agent": user_agent(), "Accept": accept or "*/*"}
    with deadline() as budget, host_slot(host):
        try:
            response, host = _follow(url, params=params, headers=headers, budget=budget)
            with response:
                _check_available(response, host)
                body = _read(response, host=host, limit=limit)
        except requests.RequestException as error:
            raise _failure(error, host=host, budget=budget) from error
        if budget.expired:
            # The timer shut the socket: what was read is cut short.
            raise _out_of_time(host, budget)
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


def _follow(
    url: str, *, params: dict[str, str] | None, headers: dict, budget: Deadline
) -> tuple[requests.Response, str]:
    """The first answer that is not a redirect, streaming, and its host."""
    host = urlsplit(url).hostname or url
    for _ in range(MAX_REDIRECTS + 1):
        remaining = budget.remaining()
        if remaining <= 0:
            raise _out_of_time(host, budget)
        response = _session().get(
            url,
            params=params,
            headers=headers,
            timeout=min(settings.CITATION_TIMEOUT, remaining),
            stream=True,
            # Followed here: requests would read each redirect's body in full, with
            # no size limit, and open each hop outside the budget.
            allow_redirects=False,
        )
        if not response.is_redirect:
            return response, host
        response.close()
        url, params = urljoin(url, response.headers["Location"]), None
        host = urlsplit(url).hostname or url
        if urlsplit(url).scheme not in ("http", "https"):
            raise MetadataInvalid(f"{host} redirected to a non-web address")
    raise MetadataInvalid(f"{host} redirected more than {MAX_REDIRECTS} times")


def _failure(
    error: requests.RequestException, *, host: str, budget: Deadline
) -> ReviewappError:
    if budget.expired:
        return _out_of_time(host, budget)
    if isinstance(error, requests.Timeout):
        return UpstreamUnavailable(
            f"{host} did not answer within {settings.CITATION_TIMEOUT:g} seconds"
        )
    if isinstance(
        error, requests.ConnectionError | requests.exceptions.ChunkedEncodingError
    ):
        # Also a read timeout while streaming: requests reports it as this.
        return UpstreamUnavailable(f"the connection to {host} failed")
    # A malformed address or an undecodable body: asking again won't help.
    return MetadataInvalid(f"could not fetch from {host}: {error}")


def _out_of_time(host: str, budget: Deadline) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"{host} did not finish answering within {budget.seconds:g} seconds"
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
    expires = math.ceil(settings.CITATION_DEADLINE) + 1
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


def _read(response: requests.Response, *, host: str, limit: int) -> bytes:
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
