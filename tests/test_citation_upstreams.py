"""Citation metadata from the outside world: our real client against recorded answers.

pytest-httpserver plays doi.org, Crossref, NCBI, arXiv, Google Books and a web page,
serving the bodies in tests/fixtures/upstream (see its README for where each came
from); the CITATION_*_URL settings point at it.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit

import pytest
from werkzeug import Request, Response

from sections.citations import http
from sections.citations.http import (
    AddressRefused,
    MetadataInvalid,
    MetadataNotFound,
    UpstreamUnavailable,
)
from sections.citations.resolve import Fetched, fetch_arxiv, fetch_csl
from tests.conftest import recorded

WATER = "10.1126/science.169.3946.635"
CSL_JSON = "application/vnd.citationstyles.csl+json"


def test_doi_follows_doi_org_redirect_to_crossref_and_keeps_only_csl(upstream):
    crossref = f"/v1/works/{WATER.replace('/', '%2F')}/transform"
    upstream.expect_request(
        f"/{WATER}", headers={"Accept": CSL_JSON}
    ).respond_with_data(
        recorded("doi-csl/redirect_doi.org_302_handle-redirect.html"),
        status=302,
        headers={"Location": upstream.url_for(crossref)},
        content_type="text/html;charset=utf-8",
    )
    # werkzeug decodes %2F in the path it matches on.
    upstream.expect_request(f"/v1/works/{WATER}/transform").respond_with_data(
        recorded("doi-csl/10.1126_science.169.3946.635.csl.json")
    )

    fetched = fetch_csl(f"doi:{WATER}")

    assert fetched.source == "doi.org content negotiation"
    csl = fetched.csl
    assert csl["id"] == f"doi:{WATER}"
    assert csl["title"] == "The Structure of Ordinary Water"
    assert csl["type"] == "article-journal"  # Crossref sent "journal-article"
    assert csl["ISSN"] == "0036-8075"  # Crossref sent a list
    assert csl["author"] == [{"family": "Frank", "given": "Henry S."}]
    assert csl["issued"] == {"date-parts": [[1970, 8, 14]]}
    for bulky in ["reference", "indexed", "link", "abstract", "subtitle", "relation"]:
        assert bulky not in csl
    assert len(upstream.log) == 2


@pytest.mark.parametrize(
    ("recording", "title", "authors"),
    [
        (
            "doi-csl/10.6084_m9.figshare.4724797.datacite.csl.json",
            "The hetnet awakens: understanding complex diseases through data "
            "integration and open science",
            1,
        ),
        (
            "doi-csl/10.1098_rsif.2017.0387.csl.json",
            "Opportunities and obstacles for deep learning in biology and medicine",
            36,
        ),
    ],
    ids=["datacite", "crossref-159kB"],
)
def test_datacite_and_large_crossref_records_resolve(
    upstream, recording, title, authors
):
    upstream.expect_request(f"/{WATER}").respond_with_data(
        recorded(recording), content_type=CSL_JSON
    )

    csl = fetch_csl(f"doi:{WATER}").csl

    assert csl["title"] == title
    assert len(csl["author"]) == authors
    assert all(set(name) <= {"family", "given", "literal"} for name in csl["author"])
    assert len(json.dumps(csl)) < 10_000  # the 159 KB record, mostly references


def test_doi_unknown_to_doi_org_is_final_without_asking_crossref(upstream):
    upstream.expect_request("/10.1126/foo").respond_with_data(
        recorded("errors/doi.org_404_10.1126_foo.html"),
        status=404,
        content_type="text/html;charset=utf-8",
    )

    with pytest.raises(MetadataNotFound, match=r"has no record of this \(404\)"):
        fetch_csl("doi:10.1126/foo")
    assert len(upstream.log) == 1


def test_doi_falls_back_to_crossref_when_doi_org_fails(upstream):
    upstream.expect_request(f"/{WATER}").respond_with_data("", status=503)
    upstream.expect_request(f"/works/{WATER}/transform/{CSL_JSON}").respond_with_data(
        recorded("doi-csl/10.1126_science.169.3946.635.2022.csl.json")
    )

    fetched = fetch_csl(f"doi:{WATER}")

    assert fetched.source == "Crossref REST API"
    assert fetched.csl["title"] == "The Structure of Ordinary Water"


@pytest.mark.parametrize("in_seconds", [True, False])
def test_rate_limit_says_when_to_come_back_and_is_not_worked_around(
    upstream, in_seconds
):
    later = datetime.now(UTC) + timedelta(seconds=60)
    retry_after = "7" if in_seconds else format_datetime(later, usegmt=True)
    upstream.expect_request(f"/{WATER}").respond_with_data(
        "slow down", status=429, headers={"Retry-After": retry_after}
    )

    with pytest.raises(UpstreamUnavailable) as raised:
        fetch_csl(f"doi:{WATER}")

    if in_seconds:
        assert raised.value.retry_after == 7
    else:
        assert 50 < raised.value.retry_after <= 60
    assert len(upstream.log) == 1  # Crossref was not asked instead


@pytest.fixture
def stalled(upstream):
    """A path whose answer never comes within the test; released at teardown."""
    release = threading.Event()

    def wait(request: Request) -> Response:
        release.wait(timeout=10)
        return Response("too late")

    upstream.expect_request("/stalled").respond_with_handler(wait)
    yield upstream.url_for("/stalled")
    release.set()
    # The server answers one request at a time: this one returns only after the
    # stalled handler has finished, so nothing of it leaks into the next test.
    upstream.expect_request("/after").respond_with_data("done")
    http.get(upstream.url_for("/after"))


def test_server_errors_and_slow_answers_are_outages(upstream, stalled, settings):
    upstream.expect_request("/busy").respond_with_data("", status=503)
    settings.CITATION_TIMEOUT = 0.2

    with pytest.raises(UpstreamUnavailable, match=r"\(503\)"):
        http.get(upstream.url_for("/busy"))
    with pytest.raises(UpstreamUnavailable, match="did not answer within 0.2 seconds"):
        http.get(stalled)


@pytest.fixture
def trickling(upstream):
    """Paths that answer at once and then send their body a byte every 0.2 s, as a
    server holding a worker on purpose would; stopped at teardown."""
    stop = threading.Event()

    def trickle(request: Request) -> Response:
        def body():
            for byte in recorded("doi-csl/10.1126_science.169.3946.635.csl.json"):
                if stop.wait(0.2):  # the upstream's pace, not the test's
                    return
                yield bytes([byte])

        return Response(body(), content_type=CSL_JSON)

    upstream.expect_request(f"/{WATER}").respond_with_handler(trickle)
    upstream.expect_request(
        f"/works/{WATER}/transform/{CSL_JSON}"
    ).respond_with_handler(trickle)
    yield upstream
    stop.set()


def test_a_trickling_answer_ends_at_one_deadline_fallback_included(trickling, settings):
    # Each byte comes well within the per-read timeout; only the total is bounded.
    settings.CITATION_TIMEOUT = 1.0
    settings.CITATION_DEADLINE = 1.5

    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="within 1.5 seconds"):
        fetch_csl(f"doi:{WATER}")
    elapsed = time.monotonic() - started

    assert elapsed < settings.CITATION_DEADLINE + 1.0
    # Crossref got what doi.org left of the budget: nothing, so it was not asked.
    assert [request.path for request, _ in trickling.log] == [f"/{WATER}"]


@pytest.fixture
def trickling_headers(settings):
    """A raw server that sends its status line, then its headers a byte every 0.2 s
    (a web framework's test server sends headers at once); stopped at teardown."""
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for byte in b"X-Slow: " + b"a" * 500 + b"\r\n\r\n":
                if stop.wait(0.2):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:  # the client gave up: what the test wants
                    return

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    stop.set()
    listener.close()
    server.join(timeout=5)


def test_trickling_headers_end_at_the_deadline_too(trickling_headers, settings):
    settings.CITATION_TIMEOUT = 1.0
    settings.CITATION_DEADLINE = 1.5

    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="within 1.5 seconds"):
        http.get(trickling_headers)

    assert time.monotonic() - started < settings.CITATION_DEADLINE + 1.0


@pytest.mark.parametrize("declares_length", [True, False])
def test_answers_larger_than_the_limit_are_refused(upstream, settings, declares_length):
    body = recorded("doi-csl/10.6084_m9.figshare.4724797.datacite.csl.json")
    if declares_length:
        upstream.expect_request("/big").respond_with_data(body)
    else:
        upstream.expect_request("/big").respond_with_response(
            Response(iter([body[:2000], body[2000:]]))
        )
    settings.CITATION_MAX_BYTES = 3000

    with pytest.raises(MetadataInvalid, match="more than 3,000 bytes"):
        http.get(upstream.url_for("/big"))
    _, response = upstream.log[0]
    assert ("Content-Length" in response.headers) is declares_length


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"type": "article-journal", "title": ', "not JSON"),
        (b'{"type": "article-journal", "title": []}', "has no title"),
        (b'[{"title": "A list, not an object"}]', "not a CSL-JSON object"),
        (b"  \n", "empty answer"),
    ],
    ids=["broken-json", "no-title", "a-list", "blank"],
)
def test_answers_we_cannot_use_are_invalid(upstream, body, problem):
    # doi.org and the Crossref fallback send the same unusable answer.
    upstream.expect_request(f"/{WATER}").respond_with_data(body)
    upstream.expect_request(f"/works/{WATER}/transform/{CSL_JSON}").respond_with_data(
        body
    )

    with pytest.raises(MetadataInvalid, match=problem):
        fetch_csl(f"doi:{WATER}")


def test_markup_in_a_title_comes_back_as_the_same_text(upstream):
    title = "Deep <script>alert(1)</script> <i>learning</i> &amp; more"
    upstream.expect_request(f"/{WATER}").respond_with_json(
        {"type": "article-journal", "title": title}
    )

    assert fetch_csl(f"doi:{WATER}").csl["title"] == title


def test_pmcid_resolves_through_the_ncbi_citation_exporter(upstream):
    upstream.expect_request(
        "/lit/ctxp/v1/pmc/", query_string={"format": "csl", "id": "PMC5832410"}
    ).respond_with_data(recorded("ncbi/ctxp_pmc_PMC5832410.csl.json"))

    fetched = fetch_csl("pmcid:PMC5832410")

    assert fetched.source == "NCBI citation exporter"
    assert (
        fetched.csl["title"]
        == "Sci-Hub provides access to nearly all scholarly literature"
    )
    assert fetched.csl["editor"] == [{"family": "Rodgers", "given": "Peter A"}]
    assert fetched.csl["accessed"] == {"date-parts": [[2018, 8, 10]]}
    assert "source" not in fetched.csl


@pytest.mark.parametrize("exporter_status", [404, 500])
def test_pmid_falls_back_to_e_utilities_when_the_exporter_fails(
    upstream, exporter_status
):
    upstream.expect_request("/lit/ctxp/v1/pubmed/").respond_with_data(
        "", status=exporter_status
    )
    upstream.expect_request(
        "/esummary.fcgi",
        query_string={
            "db": "pubmed",
            "id": "30939045",
            "retmode": "json",
            "tool": "reviewapp",
            "email": "references@example.org",
        },
    ).respond_with_data(recorded("ncbi/esummary_pubmed_30939045.json"))

    fetched = fetch_csl("pmid:30939045")

    assert fetched.source == "NCBI E-utilities"
    csl = fetched.csl
    assert csl["title"] == (
        "Rare Protein-Truncating Variants in APOB, Lower Low-Density Lipoprotein "
        "Cholesterol, and Protection Against Coronary Heart Disease"
    )
    assert csl["author"][0] == {"family": "Peloso", "given": "GM"}
    assert {"family": "Lester Kirchner", "given": "H"} in csl["author"]
    assert csl["container-title"] == "Circulation. Genomic and precision medicine"
    assert csl["issued"] == {"date-parts": [[2019]]}
    assert (csl["volume"], csl["issue"], csl["page"]) == ("12", "5", "e002376")
    assert (csl["DOI"], csl["PMID"], csl["PMCID"]) == (
        "10.1161/CIRCGEN.118.002376",
        "30939045",
        "PMC7044908",
    )


def serve_arxiv(upstream, id_list: str, recording: str, *, status: int = 200) -> None:
    upstream.expect_request(
        "/api/query",
        query_string={"id_list": id_list, "max_results": str(id_list.count(",") + 1)},
    ).respond_with_data(
        recorded(recording), status=status, content_type="application/atom+xml"
    )


def test_arxiv_id_resolves_from_the_atom_feed(upstream):
    serve_arxiv(upstream, "1605.08386", "arxiv/query_id_list_1605.08386.atom.xml")

    fetched = fetch_csl("arxiv:1605.08386")

    assert fetched.source == "arXiv API"
    assert fetched.csl == {
        "id": "arxiv:1605.08386",
        "type": "article",
        "title": "Heat-bath random walks with Markov bases",
        "number": "1605.08386",
        "URL": "https://arxiv.org/abs/1605.08386",
        "archive": "arXiv",
        "author": [
            {"family": "Stanley", "given": "Caprice"},
            {"family": "Windisch", "given": "Tobias"},
        ],
        "issued": {"date-parts": [[2016, 5, 26]]},
    }


def test_arxiv_batch_is_one_request_and_names_the_missing_id(upstream):
    serve_arxiv(
        upstream,
        "0808.05394,1707.08567",
        "arxiv/query_id_list_0808.05394,1707.08567.atom.xml",
    )

    answers = fetch_arxiv(["0808.05394", "1707.08567"])

    assert len(upstream.log) == 1
    assert isinstance(answers["0808.05394"], MetadataNotFound)
    found = answers["1707.08567"]
    assert isinstance(found, Fetched)
    assert found.csl["title"].startswith("Proceedings of Workshop AEW10")
    assert {"family": "de With", "given": "Peter H. N."} in found.csl["author"]


def test_arxiv_legacy_feed_matches_a_versioned_id(upstream):
    serve_arxiv(
        upstream, "1111.2011v2", "arxiv/legacy-2016_query_id_list_1111.2011v2.atom.xml"
    )

    csl = fetch_csl("arxiv:1111.2011v2").csl

    # The 2016 title spans two lines.
    assert csl["title"] == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large "
        "Connectivity Limit"
    )
    assert csl["DOI"] == "10.1103/PhysRevB.85.115117"
    assert csl["number"] == "1111.2011v2"
    assert csl["issued"] == {"date-parts": [[2011, 11, 8]]}


@pytest.mark.parametrize(
    ("arxiv_id", "recording", "status", "message"),
    [
        (
            "abc",
            "errors/arxiv_400_id_list_abc.atom.xml",
            400,
            "incorrect id format for abc",
        ),
        (
            "0000.0000",
            "errors/arxiv_200_empty_id_list_0000.0000.atom.xml",
            200,
            "has no paper",
        ),
    ],
    ids=["400-error-feed", "empty-feed"],
)
def test_arxiv_error_and_empty_feeds_are_not_found(
    upstream, arxiv_id, recording, status, message
):
    serve_arxiv(upstream, arxiv_id, recording, status=status)

    with pytest.raises(MetadataNotFound, match=message):
        fetch_csl(f"arxiv:{arxiv_id}")


def test_isbn_resolves_through_google_books(upstream):
    upstream.expect_request(
        "/volumes", query_string={"q": "isbn:9780918024565"}
    ).respond_with_data(recorded("isbn/google-books_isbn_9780918024565.json"))
    upstream.expect_request(
        "/volumes", query_string={"q": "isbn:9780000000002"}
    ).respond_with_json({"kind": "books#volumes", "totalItems": 0})

    fetched = fetch_csl("isbn:9780918024565")

    assert fetched.source == "Google Books"
    assert fetched.csl == {
        "id": "isbn:9780918024565",
        "type": "book",
        "title": "Willard Gibbs",
        "ISBN": "9780918024565",
        "author": [{"family": "Rukeyser", "given": "Muriel"}],
        "issued": {"date-parts": [[1988]]},
    }
    with pytest.raises(MetadataNotFound, match="no book with ISBN"):
        fetch_csl("isbn:9780000000002")


def test_web_page_resolves_from_its_citation_meta_tags(upstream):
    upstream.expect_request("/abs/1902.02534").respond_with_data(
        recorded("html/arxiv.org_abs_1902.02534.html"),
        content_type="text/html; charset=utf-8",
    )
    url = upstream.url_for("/abs/1902.02534")

    fetched = fetch_csl(f"url:{url}")

    assert fetched.source == "the page's citation meta tags"
    assert fetched.csl == {
        "id": f"url:{url}",
        "type": "article",
        "title": "Crowdsourcing open citations with CROCI -- An analysis of the "
        "current status of open citations, and a proposal",
        "number": "1902.02534",
        "URL": url,
        "archive": "arXiv",
        "author": [
            {"family": "Heibi", "given": "Ivan"},
            {"family": "Peroni", "given": "Silvio"},
            {"family": "Shotton", "given": "David"},
        ],
        "issued": {"date-parts": [[2019, 2, 7]]},
    }


def test_a_web_page_on_a_private_network_is_never_fetched(upstream, settings):
    settings.OUTBOUND_ALLOWED_ADDRESSES = []
    page = upstream.url_for("/admin/secrets")

    with pytest.raises(AddressRefused, match="private network"):
        fetch_csl(f"url:{page}")
    with pytest.raises(AddressRefused, match="private network"):
        fetch_csl("url:http://169.254.169.254/latest/meta-data/")
    assert upstream.log == []


@pytest.fixture
def dns(monkeypatch):
    """Answers for made-up names, as a resolver would give them (no query leaves the
    machine); counts the lookups of each. Other names resolve as usual."""
    answers: dict[str, list[list[str]]] = {}
    lookups: dict[str, int] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups[host] = lookups.get(host, 0) + 1
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


def test_a_name_is_connected_to_at_the_address_it_was_checked_at(upstream, dns):
    # DNS rebinding: the first answer passes the check, a second would point the
    # connection at another (here an unserved loopback) address.
    answers, lookups = dns
    answers["rebinding.example"] = [["127.0.0.1"], ["127.0.0.2"]]
    upstream.expect_request("/abs/1902.02534").respond_with_data(
        recorded("html/arxiv.org_abs_1902.02534.html"),
        content_type="text/html; charset=utf-8",
    )
    url = f"http://rebinding.example:{upstream.port}/abs/1902.02534"

    fetched = fetch_csl(f"url:{url}")

    assert fetched.csl["number"] == "1902.02534"
    assert lookups["rebinding.example"] == 1
    request, _ = upstream.log[0]
    assert request.headers["Host"] == f"rebinding.example:{upstream.port}"


@pytest.mark.parametrize(
    ("addresses", "problem"),
    [
        ([], "could not be looked up"),
        (["127.0.0.1", "10.0.0.7"], r"private network \(10\.0\.0\.7\)"),
    ],
    ids=["lookup-fails", "one-private-answer"],
)
def test_a_name_that_fails_to_resolve_or_resolves_privately_is_refused(
    upstream, dns, addresses, problem
):
    answers, _ = dns
    answers["paper.example"] = [addresses]

    with pytest.raises(AddressRefused, match=problem):
        fetch_csl(f"url:http://paper.example:{upstream.port}/paper")
    assert upstream.log == []


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "::1",
        "::",
        "0.0.0.0",
        "224.0.0.251",
        "100.64.0.1",
        "240.0.0.1",
    ],
)
def test_addresses_inside_other_addresses_are_not_public(address):
    assert not http.is_public(ipaddress.ip_address(address))


def test_public_addresses_are_public():
    for address in ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]:
        assert http.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("tag:deep-review", "names no identifier"),
        ("raw:Smith 2019", "names no identifier"),
        ("wikidata:Q50051684", "Wikidata keys can't be resolved automatically yet"),
        ("url:ftp://example.org/paper.pdf", "Only http and https"),
    ],
    ids=["tag", "raw", "wikidata", "ftp"],
)
def test_keys_without_a_service_are_not_sent_anywhere(upstream, key, message):
    with pytest.raises(MetadataNotFound, match=message):
        fetch_csl(key)
    assert upstream.log == []


def test_requests_name_us_and_our_contact(upstream, settings):
    settings.SITE_URL = "https://review.example.org"
    upstream.expect_request("/ping").respond_with_data("pong")

    http.get(upstream.url_for("/ping"))

    request, _ = upstream.log[0]
    assert request.headers["User-Agent"] == (
        "Reviewapp/0.1 (+https://review.example.org; mailto:references@example.org)"
    )


def test_a_host_with_every_slot_taken_is_not_sent_more(upstream, settings):
    settings.CITATION_MAX_PER_HOST = 1
    upstream.expect_request("/ping").respond_with_data("pong")
    url = upstream.url_for("/ping")

    with http.host_slot(urlsplit(url).hostname):
        with pytest.raises(UpstreamUnavailable, match="in flight") as raised:
            http.get(url)
    assert raised.value.retry_after == 1
    assert upstream.log == []

    http.get(url)  # the slot was given back
    assert len(upstream.log) == 1
