"""A numbered reference list, as journals print one, turned into provisional CSL-JSON.

    3. LeCun Y, Bengio Y, Hinton G. 2015 Deep learning. Nature 521, 436–444. (doi:10.1038/nature14539)

An entry's DOI becomes its citekey; an entry with no identifier ("In press. See")
keeps its text and gets a stable `tag:` key made from its author, year and title.
"""

from __future__ import annotations

import re

from django.utils.text import slugify

from sections.citations.keys import standardize
from sections.exceptions import ImportRejected
from sections.importing.parsed import ParsedReference, csl_record

ENTRY = re.compile(r"^(?P<number>\d{1,4})\.\s+(?P<text>\S.*)$", re.DOTALL)
DOI = re.compile(r"\s*\(doi:\s*(?P<doi>10\.\S+)\)\s*$", re.IGNORECASE)
HEAD = re.compile(
    r"^(?P<authors>.+?)\.?\s+(?P<year>\d{4}|In press\.)\s+(?P<rest>.+)$", re.DOTALL
)
CHAPTER = re.compile(r"^(?P<title>.+?[.?!])\s+In\s+(?P<container>.+?)\.?$", re.DOTALL)
JOURNAL = re.compile(
    r"^(?P<journal>[A-Z][^.]*?)(?:\s+(?P<volume>\d+))?(?:,\s*(?P<page>[^\s,]+?))?\.?$"
)
INITIALS = re.compile(r"^[A-ZÀ-Ý](?:-?[A-ZÀ-Ý]){0,3}$")


def is_entry(block: str) -> bool:
    return bool(ENTRY.match(block.strip()))


def parse(blocks: list[str]) -> list[ParsedReference]:
    """Parse numbered entries; raises ImportRejected if numbers repeat."""
    references = []
    seen: dict[int, str] = {}
    used_keys: set[str] = set()
    for block in blocks:
        match = ENTRY.match(block.strip())
        if not match:
            raise ImportRejected(
                f"The reference list has an entry that is not numbered: {block[:60]!r}"
            )
        number, text = int(match.group("number")), " ".join(match.group("text").split())
        if number in seen:
            raise ImportRejected(f"The reference list numbers entry {number} twice.")
        seen[number] = text
        reference = _parse_entry(number, text, used_keys)
        used_keys.add(reference.key)
        references.append(reference)
    return references


def _parse_entry(number: int, text: str, used_keys: set[str]) -> ParsedReference:
    doi_match = DOI.search(text)
    body = text[: doi_match.start()] if doi_match else text
    csl: dict = {"type": "article"}
    head = HEAD.match(body)
    if head:
        authors = re.sub(r"\s+et al\.?$", "", head.group("authors"))
        csl["author"] = [_name(part) for part in authors.split(", ") if part.strip()]
        if head.group("year").isdigit():
            csl["issued"] = {"date-parts": [[int(head.group("year"))]]}
        else:
            csl["status"] = "in press"
        csl.update(_title_and_container(head.group("rest").strip()))
    else:
        csl["title"] = body.strip().rstrip(".")
    if doi_match:
        doi = doi_match.group("doi")
        csl["DOI"] = doi
        key = standardize(f"doi:{doi}")
    else:
        if csl["type"] == "article":
            # No journal, no DOI: CSL's "article" would print "Preprint at".
            csl["type"] = "manuscript"
        key = _tag_key(number, csl, used_keys)
    csl = csl_record(csl, key=key, source=f"Reference {number}")
    return ParsedReference(key=key, csl=csl, original_text=text, number=number)


def _name(part: str) -> dict:
    part = part.strip().rstrip(".")
    family, _, given = part.rpartition(" ")
    if family and INITIALS.match(given):
        initials = re.findall(r"-?[A-ZÀ-Ý]", given)
        return {"family": family, "given": "".join(f"{i}." for i in initials)}
    return {"literal": part}


def _title_and_container(rest: str) -> dict:
    chapter = CHAPTER.match(rest)
    if chapter:
        container, pages, publisher = _chapter_parts(chapter.group("container"))
        fields = {"type": "chapter", "title": _clean_title(chapter.group("title"))}
        fields["container-title"] = container
        if pages:
            fields["page"] = pages
        if publisher:
            fields["publisher"] = publisher
        return fields
    # The title ends at the first sentence break after which the rest reads as a
    # journal citation ("Nature 521, 436–444."); titles may hold full stops themselves.
    for split in re.finditer(r"(?<=[.?!])\s+", rest):
        journal = JOURNAL.match(rest[split.end() :])
        if journal:
            fields = {
                "type": "article-journal",
                "title": _clean_title(rest[: split.start()]),
                "container-title": journal.group("journal").strip(),
            }
            if journal.group("volume"):
                fields["volume"] = journal.group("volume")
            if journal.group("page"):
                fields["page"] = journal.group("page")
            return fields
    return {"title": _clean_title(rest)}


def _chapter_parts(container: str) -> tuple[str, str, str]:
    pages_match = re.search(
        r",\s*pp\.\s*(?P<pages>[^.]+)\.\s*(?P<publisher>.*)$", container
    )
    if pages_match:
        return (
            container[: pages_match.start()].strip(),
            pages_match.group("pages").strip(),
            pages_match.group("publisher").strip().rstrip("."),
        )
    name, sep, publisher = container.rpartition(", ")
    if sep:
        return name.strip(), "", publisher.strip().rstrip(".")
    return container.strip().rstrip("."), "", ""


def _clean_title(title: str) -> str:
    title = title.strip()
    return title[:-1] if title.endswith(".") else title


def _tag_key(number: int, csl: dict, used_keys: set[str]) -> str:
    authors = [a for a in csl.get("author", []) if a]
    first = authors[0].get("family") or authors[0].get("literal") if authors else ""
    year = csl.get("issued", {}).get("date-parts", [[""]])[0][0]
    title_word = next(iter(re.findall(r"[A-Za-z0-9]{3,}", csl.get("title", ""))), "")
    if first:
        base = slugify(f"{first} {year} {title_word}")
    else:
        base = slugify(f"{csl.get('title', '')[:40]} {number}")
    key, suffix = f"tag:{base}", 2
    while key in used_keys:
        key, suffix = f"tag:{base}-{suffix}", suffix + 1
    return key
