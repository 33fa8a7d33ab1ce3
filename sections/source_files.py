"""A Manubot manuscript's own files, kept so that its export is the folder it came from.

Importing a content folder keeps every file as it was (models.SourceFile) and, for
each section, which file it came from, its heading line as written and the newlines
around its body (Section.source_*). Exporting writes each content file back from its
sections: a file whose sections nobody changed comes out byte for byte as it went in
(its stored bytes: line endings and all); an edited one differs only where the edit
is. A section the app added (or moved out of its file's order) goes into the file of
the section before it.

`metadata.yaml` comes back as it was unless the app's title or authors differ; then
it is parsed, those two keys are rewritten (each author keeping every key the app
does not hold: `email`, `v1`, `coi`, ...; in the original key order) and dumped
again, which loses its comments and quoting. The reference files and
`citation-tags.tsv` come back as they were; images are the manuscript's figures
(sections.figures), exported with them; records that maintainers entered in the app go
to a file of their own (ENTERED_REFERENCES).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from sections import authors
from sections.importing.markdown import (
    FENCE,
    parse_heading,
    split_heading_attributes,
)
from sections.models import Manuscript, Section, SourceFile

BOM = "\ufeff"
# Records maintainers entered in the app, beside the folder's own files: Manubot
# reads manual-references*.* in sorted order and lets the last record for a key win,
# and this name sorts after manual-references.json, as our importer reads it too.
ENTERED_REFERENCES = "manual-references.reviewapp.json"
# What the importer writes as the metadata_source of a record from those files.
IMPORTED_MANUAL = "manual"
# A heading's pandoc attributes, `{#id .class key=value}`, at the end of its line.
ATTRIBUTES = re.compile(r"[ \t]+\{[^{}]*\}[ \t]*$")


@dataclass
class SourcePart:
    """A run of a content file: an optional heading line and the text under it.

    The file is the concatenation of `lead + heading + before + body + after` over
    its parts: `heading` has no newline, `body` no leading or trailing newline."""

    heading: str
    level: int  # the heading's number of '#'; 0 without a heading
    title: str
    body: str
    lead: str = ""
    before: str = ""
    after: str = ""
    index: int = 0  # its place among the file's parts
    attributes: str = ""  # the heading's pandoc attributes, without braces

    @property
    def layout(self) -> dict:
        return {
            "lead": self.lead,
            "before": self.before,
            "after": self.after,
            "title": self.title,
            "level": self.level,
            "index": self.index,
            # and, once stored, "level_in_outline": the section's level then.
        }


def split(text: str) -> list[SourcePart]:
    """A content file's text (newlines as \\n) as its parts: text before the first
    heading is a part with no heading (unless it is only blank lines)."""
    runs: list[list[str]] = [[]]
    headings: list[str] = [""]
    fence = ""
    for line in text.splitlines(keepends=True):
        fence_match = FENCE.match(line)
        if fence_match and (not fence or fence_match.group("fence").startswith(fence)):
            fence = "" if fence else fence_match.group("fence")[:3]
        elif not fence and parse_heading(line.rstrip("\n")):
            headings.append(line.rstrip("\n"))
            runs.append([line[len(line.rstrip("\n")) :]])
            continue
        runs[-1].append(line)
    parts = []
    lead = ""
    for heading, run in zip(headings, runs, strict=True):
        rest = "".join(run)
        if not heading and not rest.strip():
            lead = rest  # blank lines before the first heading
            continue
        level, title = parse_heading(heading) if heading else (0, "")
        title, attributes = split_heading_attributes(title)
        body = rest.strip("\n")
        before = rest[: len(rest) - len(rest.lstrip("\n"))] if body else rest
        after = rest[len(before) + len(body) :]
        parts.append(
            SourcePart(
                heading, level, title, body, lead, before, after, len(parts), attributes
            )
        )
        lead = ""
    return parts


def join(parts: list[SourcePart]) -> str:
    return "".join(p.lead + p.heading + p.before + p.body + p.after for p in parts)


# Export


def export_files(manuscript: Manuscript) -> dict[str, bytes]:
    """The content folder as {path under content/: bytes}; empty if the manuscript
    was not imported from a Manubot folder."""
    stored = {f.name: f for f in manuscript.source_files.all()}
    if not stored:
        return {}
    files: dict[str, bytes] = {}
    for name, text in _content_texts(manuscript, stored).items():
        files[name] = _encoded(text, stored.get(name))
    for name, source in stored.items():
        if source.kind == SourceFile.Kind.METADATA:
            files[name] = metadata_bytes(manuscript, bytes(source.data))
        elif source.kind != SourceFile.Kind.CONTENT:
            files[name] = bytes(source.data)
    entered = [
        dict(r.csl_manual, id=r.key)
        for r in manuscript.references.exclude(csl_manual=None)
        .exclude(metadata_source=IMPORTED_MANUAL)
        .order_by("key")
    ]
    if entered:
        files[ENTERED_REFERENCES] = (
            json.dumps(entered, ensure_ascii=False, indent=2) + "\n"
        ).encode()
    return files


def _content_texts(manuscript: Manuscript, stored: dict) -> dict[str, str]:
    content_names = sorted(
        n for n, f in stored.items() if f.kind == SourceFile.Kind.CONTENT
    )
    sections = list(manuscript.sections.present().order_by("position"))
    placed: dict[str, list[SourcePart]] = {}
    current = ""
    previous: tuple[str, int] | None = None  # the last part's file and place in it
    for section in sections:
        name = section.source_file
        # A section of no file, or out of its file's order, joins its neighbour's.
        if not name or name not in content_names or name < current:
            name = current or _first_file_of(sections, content_names)
        current = name
        parts = placed.setdefault(name, [])
        part = _part_for(section)
        index = (section.source_layout or {}).get("index")
        as_written = (
            section.source_file == name
            and index is not None
            and previous == (name, index - 1)
        )
        if parts and part.heading and not as_written:
            # Not where it was written: pandoc wants a blank line before a heading.
            end = join(parts[-1:])
            parts[-1].after += "\n" * (2 - (len(end) - len(end.rstrip("\n"))))
        parts.append(part)
        previous = (name, index) if section.source_file == name else None
    return {name: join(placed[name]) for name in content_names if name in placed}


def _first_file_of(sections: list[Section], names: list[str]) -> str:
    for section in sections:
        if section.source_file in names:
            return section.source_file
    return names[0] if names else "01.main.md"


def _part_for(section: Section) -> SourcePart:
    layout = section.source_layout or {}
    body = section.body.replace("\r\n", "\n").strip("\n")
    if not section.source_file or not layout:
        # Written in the app: a heading as Manubot's template writes them.
        heading = f"{'#' * min(section.level + 1, 6)} {section.heading_text}"
        before, after = ("\n\n", "\n") if body else ("\n", "")
        return SourcePart(
            heading, section.level + 1, section.title, body, "", before, after
        )
    heading = section.source_heading
    if heading and (section.title, section.level) != (
        layout.get("title"),
        layout.get("level_in_outline"),
    ):
        heading = _rewritten_heading(section, layout)
    elif not heading and section.title:
        heading = f"{'#' * min(section.level + 1, 6)} {section.heading_text}"
    before = layout.get("before", "")
    if heading and not before.startswith("\n") and body:
        before = "\n\n"
    return SourcePart(
        heading,
        0,
        section.title,
        body,
        layout.get("lead", ""),
        before,
        layout.get("after", ""),
    )


def _rewritten_heading(section: Section, layout: dict) -> str:
    """The heading for a renamed or re-levelled section: its '#'s moved by as many
    levels as the section moved, and whatever followed the old title (attributes
    such as `{.page_break_before}`) kept."""
    old_level = layout.get("level") or section.level + 1
    shift = section.level - (layout.get("level_in_outline") or section.level)
    hashes = max(1, min(old_level + shift, 6))
    old_title = layout.get("title", "")
    heading = section.source_heading
    start = heading.find(old_title) if old_title else -1
    suffix = heading[start + len(old_title) :] if start >= 0 else ""
    attributes = ATTRIBUTES.search(heading)
    if not suffix.strip() and attributes and not ATTRIBUTES.search(section.title):
        suffix = attributes.group()
    if not section.title:
        return ""
    return f"{'#' * hashes} {section.title}{suffix}"


def _encoded(text: str, source: SourceFile | None) -> bytes:
    if source is None:
        return text.encode()
    original = bytes(source.data)
    decoded = original.decode("utf-8-sig")
    if decoded.replace("\r\n", "\n").replace("\r", "\n") == text:
        return original  # unchanged: its own bytes, line endings and all
    if "\r\n" in decoded:
        text = text.replace("\n", "\r\n")
    if decoded.startswith(BOM) or original.startswith(BOM.encode()):
        text = BOM + text
    return text.encode()


# metadata.yaml

APP_AUTHOR_KEYS = ("name", "orcid", "github", "affiliations")


def metadata_bytes(manuscript: Manuscript, original: bytes) -> bytes:
    """metadata.yaml as imported, or, where the app's title or authors differ from
    it, rewritten with those (every other key kept, in its order)."""
    metadata = yaml.safe_load(original.decode("utf-8-sig")) or {}
    rewritten = dict(metadata)
    if str(metadata.get("title") or "").strip() != manuscript.title:
        rewritten["title"] = manuscript.title
    originals = [a for a in metadata.get("authors") or [] if isinstance(a, dict)]
    rewritten["authors"] = _merged_authors(authors.byline(manuscript), originals)
    if _comparable(rewritten) == _comparable(metadata):
        return original
    text = yaml.safe_dump(rewritten, allow_unicode=True, sort_keys=False)
    if original.lstrip().startswith(b"---"):
        text = "---\n" + text
    return text.encode()


def _merged_authors(byline: list[dict], originals: list[dict]) -> list[dict]:
    """The app's authors in the app's order, each the original entry (matched by
    ORCID, then GitHub handle, then name) with the app's name, ORCID, GitHub and
    affiliations."""
    unused = list(originals)
    merged = []
    for author in byline:
        match = _matching(author, unused)
        if match is not None:
            unused.remove(match)
        entry = dict(match or {})
        for key in APP_AUTHOR_KEYS:
            if author.get(key):
                if not (key == "affiliations" and _same_affiliations(entry, author)):
                    entry[key] = author[key]
            else:
                entry.pop(key, None)
        merged.append(entry if match else dict(author))
    return merged


def _matching(author: dict, originals: list[dict]) -> dict | None:
    for key in ("orcid", "github", "name"):
        for original in originals:
            if author.get(key) and str(original.get(key) or "") == author[key]:
                return original
    return None


def _same_affiliations(entry: dict, author: dict) -> bool:
    value = entry.get("affiliations")
    listed = [value] if isinstance(value, str) else list(value or [])
    return [str(a).strip() for a in listed] == author["affiliations"]


def _comparable(metadata: dict) -> object:
    return yaml.safe_dump(metadata, sort_keys=True, allow_unicode=True)


def keep(manuscript: Manuscript, files: list[tuple[str, str, bytes]]) -> None:
    """Store an imported folder's files: (name under content/, kind, bytes)."""
    SourceFile.objects.bulk_create(
        SourceFile(manuscript=manuscript, name=name, kind=kind, data=data)
        for name, kind, data in files
    )
