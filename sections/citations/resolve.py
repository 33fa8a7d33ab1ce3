"""Standardized citekeys to CSL-JSON, fetched from the services that hold them.

`fetch_csl` is what the task layer calls. Each kind of identifier has its service
and, where one exists, a second service to fall back on; whatever comes back passes
`clean_csl`, so a stored record holds only CSL variables, as text, within bounds.
Pure functions: no models, no tasks.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings

from sections.citations import http
from sections.citations.format import CROSSREF_TYPES
from sections.citations.http import (
    MetadataInvalid,
    MetadataNotFound,
    UpstreamUnavailable,
)

logger = logging.getLogger(__name__)

CSL_JSON = "application/vnd.citationstyles.csl+json"
CSL_TYPES = frozenset(
    "article article-journal article-magazine article-newspaper bill book broadcast "
    "chapter classic collection dataset document entry entry-dictionary "
    "entry-encyclopedia event figure graphic hearing interview legal_case "
    "legislation manuscript map motion_picture musical_score pamphlet "
    "paper-conference patent performance periodical personal_communication post "
    "post-weblog regulation report review review-book software song speech "
    "standard thesis treaty webpage".split()
)
# Crossref's own type names that are not CSL types (CrossRef/rest-api-doc#187).
TYPE_NAMES = CROSSREF_TYPES | {
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "book-part": "chapter",
    "book-section": "chapter",
    "dissertation": "thesis",
    "reference-entry": "entry",
    "peer-review": "review",
}
# The CSL variables worth keeping. Everything else goes: Crossref adds hundreds of
# kilobytes (reference, funder, link, license, indexed…), and an abstract is long
# and full of JATS or HTML markup that no bibliography shows.
CSL_TEXT = (
    "title",
    "container-title",
    "container-title-short",
    "collection-title",
    "original-title",
    "volume",
    "issue",
    "page",
    "number",
    "edition",
    "DOI",
    "PMID",
    "PMCID",
    "URL",
    "ISBN",
    "ISSN",
    "publisher",
    "publisher-place",
    "archive",
    "genre",
    "language",
    "note",
    "event",
    "status",
)
CSL_NAMES = ("author", "editor")
NAME_PARTS = (
    "family",
    "given",
    "literal",
    "suffix",
    "dropping-particle",
    "non-dropping-particle",
)
# Crossref leaves "issued" out (or sends [[null]]) for some works; these say when.
ISSUED_FALLBACKS = ("issued", "published-print", "published-online", "published")
# Titles are short; a longer "text" is garbage, and rows and rendering stay bounded.
MAX_TEXT = 2000
# Consortium papers list thousands of authors; no style prints more than a few dozen
# before "et al.", and every name is stored and run through citeproc each time.
MAX_NAMES = 100

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_VERSION = re.compile(r"v\d+$")
_DATE = re.compile(r"^\s*(\d{4})(?:[-/](\d{1,2}))?(?:[-/](\d{1,2}))?")


@dataclass(frozen=True)
class Fetched:
    csl: dict
    source: str


def fetch_csl(key: str) -> Fetched:
    """Cleaned CSL-JSON for a standardized citekey, and the service it came from.

    Raises UpstreamUnavailable (try again later, also when the look-up, fallbacks
    included, took longer than CITATION_DEADLINE), MetadataNotFound (no such work, or
    a kind of key no service resolves), MetadataInvalid (an answer we can't use) or
    AddressRefused (a service, or a redirect, on a private address).
    """
    prefix, _, identifier = key.partition(":")
    if prefix in ("tag", "raw"):
        raise MetadataNotFound(
            f"“{key}” names no identifier, so it can't be resolved automatically."
        )
    if prefix == "wikidata":
        raise MetadataNotFound("Wikidata keys can't be resolved automatically yet.")
    resolver = _RESOLVERS.get(prefix)
    if resolver is None or not identifier:
        raise MetadataNotFound(
            f"“{key}” is not a key that can be resolved automatically."
        )
    # One budget for the key, not one per request: a slow doi.org must not leave the
    # Crossref fallback a whole budget of its own.
    with http.deadline():
        return resolver(identifier, key=key)


def _fetch_doi(doi: str, *, key: str) -> Fetched:
    # doi.org knows every DOI of every agency (Crossref, DataCite, mEDRA…) and, asked
    # for CSL, redirects to the agency that can answer.
    path = quote(doi, safe="/")
    try:
        response = http.get(f"{settings.CITATION_DOI_URL}/{path}", accept=CSL_JSON)
        return Fetched(
            clean_csl(_json(response), key=key), "doi.org content negotiation"
        )
    except (MetadataInvalid, UpstreamUnavailable) as error:
        # A 404 from doi.org is final and passes by: it is the registry of all DOIs,
        # so Crossref has none either, and asking would double the load of each typo.
        # Nor is a service that asked us to wait worked around.
        if _asked_to_wait(error):
            raise
        first = error
    logger.info("doi.org failed for %s (%s); asking Crossref", doi, first)
    try:
        response = http.get(
            f"{settings.CITATION_CROSSREF_URL}/works/{path}/transform/{CSL_JSON}"
        )
    except MetadataNotFound:
        # Not a Crossref DOI (DataCite, mEDRA…): what doi.org said explains more.
        raise first from None
    return Fetched(clean_csl(_json(response), key=key), "Crossref REST API")


def _fetch_pmid(pmid: str, *, key: str) -> Fetched:
    try:
        response = http.get(
            f"{settings.CITATION_NCBI_URL}/lit/ctxp/v1/pubmed/",
            params={"format": "csl", "id": pmid},
        )
        return Fetched(clean_csl(_json(response), key=key), "NCBI citation exporter")
    except (MetadataNotFound, MetadataInvalid, UpstreamUnavailable) as error:
        # The exporter is a convenience over PubMed that lags it and fails for some
        # records; E-utilities is PubMed itself, so its answer is the final one.
        if _asked_to_wait(error):
            raise
        logger.info("NCBI citation exporter failed for %s (%s)", pmid, error)
    response = http.get(
        f"{settings.CITATION_EUTILS_URL}/esummary.fcgi",
        # NCBI asks E-utilities clients to name themselves and a contact.
        params={
            "db": "pubmed",
            "id": pmid,
            "retmode": "json",
            "tool": "reviewapp",
            "email": settings.CITATION_CONTACT_EMAIL,
        },
    )
    data = _json(response)
    result = data.get("result") if isinstance(data, dict) else None
    record = result.get(pmid) if isinstance(result, dict) else None
    if not isinstance(record, dict) or "error" in record:
        raise MetadataNotFound(f"PubMed has no record of PMID {pmid}.")
    csl = _csl_from_esummary(record, pmid)
    return Fetched(clean_csl(csl, key=key), "NCBI E-utilities")


def _csl_from_esummary(record: dict, pmid: str) -> dict:
    ids = {
        _text(item.get("idtype")): item.get("value")
        for item in _items(record.get("articleids"))
    }
    return {
        "type": "article-journal",
        # PubMed ends every title with a full stop; the style adds its own.
        "title": _text(record.get("title")).removesuffix("."),
        "author": [_pubmed_name(author) for author in _items(record.get("authors"))],
        "container-title": record.get("fulljournalname") or record.get("source"),
        "container-title-short": record.get("source"),
        "issued": _date(_text(record.get("pubdate"))),  # "2019 May": the year
        "volume": record.get("volume"),
        "issue": record.get("issue"),
        "page": record.get("pages"),
        "ISSN": record.get("issn") or record.get("essn"),
        "DOI": ids.get("doi"),
        "PMID": pmid,
        # "pmc" is the bare id; "pmcid" is a "pmc-id: PMC…;manuscript-id: …;" string.
        "PMCID": ids.get("pmc"),
        "URL": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
    }


def _pubmed_name(author: dict) -> dict:
    # PubMed writes "Lastname AB" (initials last); groups come as "CollectiveName".
    name = _text(author.get("name"))
    family, _, initials = name.rpartition(" ")
    if author.get("authtype") == "Author" and family:
        return {"family": family, "given": initials}
    return {"literal": name}


def _fetch_pmcid(pmcid: str, *, key: str) -> Fetched:
    response = http.get(
        f"{settings.CITATION_NCBI_URL}/lit/ctxp/v1/pmc/",
        params={"format": "csl", "id": pmcid},
    )
    return Fetched(clean_csl(_json(response), key=key), "NCBI citation exporter")


def fetch_arxiv(ids: list[str]) -> dict[str, Fetched | Exception]:
    """Several arXiv ids in one request to the arXiv API.

    Each id maps to its Fetched, or to the MetadataNotFound or MetadataInvalid that
    says why not. Raises only UpstreamUnavailable and AddressRefused, which are about
    all of them; all the requests share one CITATION_DEADLINE.
    """
    if not ids:
        return {}
    with http.deadline():
        return _fetch_arxiv(ids)


def _fetch_arxiv(ids: list[str]) -> dict[str, Fetched | Exception]:
    try:
        response = http.get(
            f"{settings.CITATION_ARXIV_URL}/api/query",
            params={"id_list": ",".join(ids), "max_results": str(len(ids))},
        )
        feed = _atom(response.content)
    except MetadataNotFound as error:
        # arXiv never answers 404: a malformed id gets 400 and an Atom feed whose one
        # entry says what is wrong, and the whole query is refused for it. Asking for
        # each id alone lets the well-formed ones resolve.
        if len(ids) > 1:
            return {k: v for one in ids for k, v in _fetch_arxiv([one]).items()}
        return {ids[0]: _arxiv_error(error)}
    except MetadataInvalid as error:
        return dict.fromkeys(ids, error)
    # Both feed layouts (2016 and today's) use the same namespaces, so one reading
    # serves; an id arXiv doesn't know is just absent (totalResults 0 for all).
    entries = {}
    for entry in feed.iter(f"{ATOM}entry"):
        entry_id = _text(entry.findtext(f"{ATOM}id")).lower()
        if "/abs/" in entry_id:
            versioned = entry_id.partition("/abs/")[2]
            entries[versioned] = entry
            entries.setdefault(_VERSION.sub("", versioned), entry)
    results: dict[str, Fetched | Exception] = {}
    for arxiv_id in ids:
        entry = entries.get(arxiv_id.lower()) or entries.get(
            _VERSION.sub("", arxiv_id.lower())
        )
        if entry is None:
            results[arxiv_id] = MetadataNotFound(f"arXiv has no paper {arxiv_id}.")
            continue
        try:
            csl = clean_csl(_csl_from_arxiv(entry, arxiv_id), key=f"arxiv:{arxiv_id}")
        except MetadataInvalid as error:
            results[arxiv_id] = error
        else:
            results[arxiv_id] = Fetched(csl, "arXiv API")
    return results


def _arxiv_error(error: MetadataNotFound) -> MetadataNotFound:
    try:
        summary = _atom(error.body).findtext(f"{ATOM}entry/{ATOM}summary")
    except MetadataInvalid:
        return error
    return MetadataNotFound(f"arXiv: {summary.strip()}.") if summary else error


def _atom(body: bytes) -> ET.Element:
    # xml.etree expands the entities a DTD declares, so a hostile feed could grow to
    # gigabytes ("billion laughs"). defusedxml is not installed and an Atom feed never
    # needs a DTD, so any is refused; decoded first, so another encoding can't hide it.
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MetadataInvalid("arXiv sent a feed that is not UTF-8.") from error
    if _DTD.search(text):
        raise MetadataInvalid("arXiv sent a feed with a DTD, which we refuse.")
    try:
        return ET.fromstring(text)
    except ET.ParseError as error:
        raise MetadataInvalid(
            "arXiv sent a feed that is not well-formed XML."
        ) from error


def _csl_from_arxiv(entry: ET.Element, arxiv_id: str) -> dict:
    return {
        "type": "article",
        "title": entry.findtext(f"{ATOM}title"),
        "author": [
            _name(_text(author.findtext(f"{ATOM}name")))
            for author in entry.iter(f"{ATOM}author")
        ],
        "issued": _date(_text(entry.findtext(f"{ATOM}published"))),
        "URL": f"https://arxiv.org/abs/{arxiv_id}",
        "number": arxiv_id,
        "archive": "arXiv",
        "DOI": entry.findtext(f"{ARXIV}doi"),
    }


def _fetch_arxiv_id(arxiv_id: str, *, key: str) -> Fetched:
    answer = fetch_arxiv([arxiv_id])[arxiv_id]
    if isinstance(answer, Exception):
        raise answer
    return answer


def _fetch_isbn(isbn: str, *, key: str) -> Fetched:
    response = http.get(
        f"{settings.CITATION_ISBN_URL}/volumes", params={"q": f"isbn:{isbn}"}
    )
    data = _json(response)
    # The search is fuzzy and may offer other books: only one carrying the ISBN (in
    # either form) counts. totalItems 0 comes without "items".
    info = next(
        (
            volume
            for item in _items(data.get("items") if isinstance(data, dict) else None)
            if isinstance(volume := item.get("volumeInfo"), dict)
            and _isbn13(isbn) in _isbns(volume)
        ),
        None,
    )
    if info is None:
        raise MetadataNotFound(f"Google Books has no book with ISBN {isbn}.")
    title, subtitle = _text(info.get("title")), _text(info.get("subtitle"))
    csl = {
        "type": "book",
        "title": f"{title}: {subtitle}" if title and subtitle else title,
        "author": [_name(_text(name)) for name in _list(info.get("authors"))],
        "publisher": info.get("publisher"),
        "issued": _date(_text(info.get("publishedDate"))),
        "ISBN": isbn,
    }
    return Fetched(clean_csl(csl, key=key), "Google Books")


def _isbns(volume: dict) -> set[str]:
    identifiers = _items(volume.get("industryIdentifiers"))
    return {_isbn13(_text(i.get("identifier")).upper()) for i in identifiers}


def _isbn13(isbn: str) -> str:
    """An ISBN-10 in its ISBN-13 form (978 prefix, new check digit); others as given."""
    if len(isbn) != 10 or not isbn[:9].isdigit():
        return isbn
    body = "978" + isbn[:9]
    check = -sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10
    return f"{body}{check}"


def _fetch_url(url: str, *, key: str) -> Fetched:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MetadataNotFound("Only http and https addresses can be looked up.")
    # A url: key is anyone's text: http.get refuses private addresses, as it does
    # for every request.
    response = http.get(url, accept="text/html,application/xhtml+xml")
    content_type = response.headers.get("Content-Type", "").lower()
    if content_type and "html" not in content_type:
        raise MetadataInvalid(f"{url} is not a web page ({content_type}).")
    page = _MetaTags()
    page.feed(_decoded(response))
    page.close()
    meta = page.meta

    def first(name: str) -> str:
        return meta.get(name, [""])[0]

    # Highwire Press tags, which Google Scholar reads and most journals and
    # repositories write; Open Graph and <title> when a page has none.
    journal, arxiv_id = first("citation_journal_title"), first("citation_arxiv_id")
    csl = {
        "type": "article-journal" if journal else "article" if arxiv_id else "webpage",
        "title": first("citation_title") or first("og:title") or page.title,
        "author": [_name(name) for name in meta.get("citation_author", [])],
        "issued": _date(
            first("citation_publication_date")
            or first("citation_date")
            or first("citation_online_date")
        ),
        "container-title": journal,
        "volume": first("citation_volume"),
        "issue": first("citation_issue"),
        "page": "-".join(
            filter(None, [first("citation_firstpage"), first("citation_lastpage")])
        ),
        "publisher": first("citation_publisher"),
        "DOI": first("citation_doi").removeprefix("doi:"),
        "number": arxiv_id,
        "archive": "arXiv" if arxiv_id else "",
        "URL": url,
    }
    return Fetched(clean_csl(csl, key=key), "the page's citation meta tags")


class _MetaTags(HTMLParser):
    """Every <meta name|property=… content=…> of a page, and its first <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            attributes = dict(attrs)
            name = attributes.get("name") or attributes.get("property") or ""
            if name and attributes.get("content"):
                self.meta.setdefault(name.lower(), []).append(attributes["content"])
        elif tag == "title" and not self.title:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _decoded(response: requests.Response) -> str:
    # requests assumes ISO-8859-1 for text/* sent without a charset (old RFC 2616);
    # such pages are UTF-8 nearly always.
    has_charset = "charset" in response.headers.get("Content-Type", "").lower()
    try:
        return response.content.decode(
            response.encoding if has_charset else "utf-8", errors="replace"
        )
    except LookupError:  # a charset Python does not know
        return response.content.decode("utf-8", errors="replace")


def clean_csl(data: object, *, key: str) -> dict:
    """The record worth keeping from upstream (or hand-written) CSL-JSON, id'd by key.

    Keeps an allow-list of CSL variables, as text (markup in a title stays literal
    text; the formatter escapes it), with Crossref's type names and arrays made CSL,
    names as dicts of name parts, and dates as integer date-parts. Raises
    MetadataInvalid unless data is a JSON object with a title.
    """
    if not isinstance(data, dict):
        raise MetadataInvalid(f"The metadata for “{key}” is not a CSL-JSON object.")
    kind = _text(data.get("type"))
    kind = TYPE_NAMES.get(kind, kind)
    csl: dict = {"id": key, "type": kind if kind in CSL_TYPES else "article"}
    for variable in CSL_TEXT:
        if text := _first_text(data.get(variable)):
            csl[variable] = text
    if "title" not in csl:
        raise MetadataInvalid(f"The metadata for “{key}” has no title.")
    for variable in CSL_NAMES:
        if names := _names(data.get(variable)):
            csl[variable] = names
    dates = (_csl_date(data.get(variable)) for variable in ISSUED_FALLBACKS)
    if issued := next(filter(None, dates), None):
        csl["issued"] = issued
    if accessed := _csl_date(data.get("accessed")):
        csl["accessed"] = accessed
    return csl


def _first_text(value: object) -> str:
    """A CSL string from a string, a number, or a list of them (Crossref sends lists
    for ISSN, original-title, sometimes title): whitespace collapsed, capped."""
    if isinstance(value, list):
        value = next((item for item in value if _first_text(item)), "")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return " ".join(value.split())[:MAX_TEXT] if isinstance(value, str) else ""


def _names(value: object) -> list[dict]:
    names = []
    for person in _items(value)[:MAX_NAMES]:
        name = {part: t for part in NAME_PARTS if (t := _first_text(person.get(part)))}
        if "family" not in name and "literal" not in name:
            # Crossref puts an organisation in "name"; a lone given name is all there is.
            literal = _first_text(person.get("name")) or name.get("given")
            name = {"literal": literal} if literal else {}
        if name:
            names.append(name)
    return names


def _csl_date(value: object) -> dict | None:
    if not isinstance(value, dict):
        return None
    parts = value.get("date-parts")
    first = parts[0] if isinstance(parts, list) and parts else None
    numbers = []
    for part in _list(first)[:3]:
        if isinstance(part, bool) or not isinstance(part, int | str):
            break
        try:
            numbers.append(int(part))
        except ValueError:
            break
    if numbers:
        return {"date-parts": [_calendar(numbers)]}
    text = _first_text(value.get("literal") or value.get("raw"))
    return _date(text) or ({"literal": text} if text else None)


def _date(text: str) -> dict | None:
    """date-parts from "2019", "2019-02-07", "2019/02/07" or "2011-11-08T18:48:36Z"."""
    match = _DATE.match(text)
    if not match:
        return None
    return {"date-parts": [_calendar([int(part) for part in match.groups() if part])]}


def _calendar(numbers: list[int]) -> list[int]:
    """The year, then month and day while they are calendar values: citeproc prints
    whatever it gets ("2019, 45" for month 13, day 45)."""
    parts = numbers[:1]
    for part, highest in zip(numbers[1:3], (12, 31), strict=False):
        if not 1 <= part <= highest:
            break
        parts.append(part)
    return parts


def _name(name: str) -> dict:
    """A name as written ("Ada M. Lovelace", "Lovelace, Ada") as CSL name parts."""
    name = " ".join(name.split())
    if "," in name:
        family, _, given = name.partition(",")
        return {"family": family.strip(), "given": given.strip()}
    words = name.split(" ")
    start = len(words) - 1
    # Particles stay with the family name: "Joost van der Putten".
    while start > 1 and words[start - 1].islower():
        start -= 1
    if start < 1:
        return {"literal": name}
    return {"family": " ".join(words[start:]), "given": " ".join(words[:start])}


def _json(response: requests.Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError as error:
        host = urlsplit(response.url).hostname
        raise MetadataInvalid(f"{host} sent something that is not JSON.") from error


def _asked_to_wait(error: Exception) -> bool:
    # A service that asked us to wait (Retry-After, or our own per-host limit) is
    # waited for: the fallback often shares its backend (doi.org redirects to
    # Crossref) and would only make the crowding worse.
    return isinstance(error, UpstreamUnavailable) and error.retry_after is not None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _items(value: object) -> list[dict]:
    """The objects in a JSON list: upstream JSON is not trusted to have its shape."""
    return [item for item in _list(value) if isinstance(item, dict)]


_RESOLVERS: dict[str, Callable[..., Fetched]] = {
    "doi": _fetch_doi,
    "pmid": _fetch_pmid,
    "pmcid": _fetch_pmcid,
    "arxiv": _fetch_arxiv_id,
    "isbn": _fetch_isbn,
    "url": _fetch_url,
}
