"""A Manubot `content/` folder, laid out as Manubot's documentation describes it.

- `NN.name.md` files, read in file-name order;
- `metadata.yaml`: `title` and `authors` (name, orcid, github, email); every key is
  kept on the manuscript, for the Jinja2 templates in the text (`templating`);
- `manual-references*.json`: CSL-JSON records, each for the citekey Manubot finds
  for it (`standard_id`), which win over anything fetched;
  (`manual-references-imported.json`, which our export writes, holds records from
  an imported reference list: they come back provisional, so fetching may replace them);
- `citation-tags.tsv`: `tag` and `citation` columns, mapping `tag:` keys to real ones
  (tags may also be defined inside the Markdown, as link references);
- `images/`: the figures the text shows by relative path (`images/overview.svg`),
  with any other image file the text names by a relative path inside the folder.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path, PurePosixPath

import yaml
from django.conf import settings

from sections import figures, source_files
from sections.citations.keys import standardize, tag_definitions
from sections.exceptions import ImportRejected
from sections.importing import markdown
from sections.importing.parsed import (
    ParsedManuscript,
    ParsedReference,
    ParsedSection,
    csl_record,
)
from sections.models import SourceFile

IMPORTED_REFERENCES = "manual-references-imported.json"
CONTENT_FILE = re.compile(r"^\d+\..+\.md$")
MAX_KEPT_FILE_BYTES = 20 * 1024 * 1024
# A CSL-JSON note's "key: value" lines and "{:key: value}" pairs, as Manubot reads
# them (manubot.cite.csl_item.CSL_Item.note_dict).
NOTE_LINE = re.compile(r"^(?P<key>[A-Z]+|[-_a-z]+): *(?P<value>.+?) *$", re.MULTILINE)
NOTE_BRACED = re.compile(r"{:(?P<key>[A-Z]+|[-_a-z]+): *(?P<value>.+?) *}")
IMAGES_FOLDER = "images"
# Where a text names a file: a Markdown link or image target, an <img src>.
NAMED_FILE = re.compile(
    r"""\]\(\s*<?([^)\s>"']+)|<img\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""",
    re.IGNORECASE,
)


def content_folder(path: Path) -> Path:
    return path / "content" if (path / "content").is_dir() else path


def parse(path: Path, *, read_text) -> ParsedManuscript:
    """Parse a content folder; `read_text(path)` decodes a file or raises ImportRejected.

    Each content file is split at its headings, as written: text before a file's
    first heading is a section with no heading, tag definitions stay in the text
    that holds them, and every file is kept as it was (sections.source_files)."""
    folder = content_folder(path)
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and CONTENT_FILE.match(p.name)
    )
    if not files:
        raise ImportRejected(
            f"{folder} has no Manubot content files (named like 01.introduction.md)."
        )
    metadata = _metadata(folder / "metadata.yaml", read_text)
    kept: list[tuple[str, str, bytes]] = []
    sections: list[ParsedSection] = []
    for file in files:
        text = read_text(file)
        kept.append((file.name, SourceFile.Kind.CONTENT, file.read_bytes()))
        sections += [
            ParsedSection(
                part.title,
                part.level,
                part.body,
                heading_attributes=part.attributes,
                source_file=file.name,
                source_heading=part.heading,
                source_layout=part.layout,
            )
            for part in source_files.split(text)
        ]
    if not any(section.title for section in sections):
        raise ImportRejected(
            "No headings found: Markdown sections start with '#' lines."
        )
    markdown.normalize_levels(sections)
    title = str(metadata.get("title") or "").strip() or folder.parent.name
    references = [
        ParsedReference(key=tag, alias_of=target)
        for section in sections
        for tag, target in tag_definitions(section.body)
    ]
    parsed = ParsedManuscript(
        title=title or next(s.title for s in sections if s.title),
        sections=sections,
        references=references,
        authors=[a for a in metadata.get("authors") or [] if isinstance(a, dict)],
    )
    parsed.metadata = metadata
    parsed.references += _manual_references(folder, read_text)
    parsed.references += _citation_tags(folder / "citation-tags.tsv", read_text)
    parsed.source_files = kept + _kept_files(folder)
    parsed.figures, notes = _figures(folder, "\n".join(s.body for s in sections))
    parsed.notes += notes
    return parsed


def _kept_files(folder: Path) -> list[tuple[str, str, bytes]]:
    """The folder's other files, as they are (read and checked by now)."""
    kept = []
    if (folder / "metadata.yaml").is_file():
        kept.append(
            (
                "metadata.yaml",
                SourceFile.Kind.METADATA,
                _bytes(folder / "metadata.yaml"),
            )
        )
    for path in sorted(folder.glob("manual-references*.json")):
        kept.append((path.name, SourceFile.Kind.REFERENCES, _bytes(path)))
    if (folder / "citation-tags.tsv").is_file():
        tags = folder / "citation-tags.tsv"
        kept.append((tags.name, SourceFile.Kind.TAGS, _bytes(tags)))
    # Images are the manuscript's figures (sections.figures), kept there.
    return kept


def _bytes(path: Path) -> bytes:
    if path.stat().st_size > MAX_KEPT_FILE_BYTES:
        raise ImportRejected(
            f"{path.name} is larger than {MAX_KEPT_FILE_BYTES // 2**20} MB."
        )
    return path.read_bytes()


def _figures(folder: Path, text: str) -> tuple[list[figures.IncomingFigure], list]:
    """The folder's figure files, checked: every image in images/, and any other
    image file the text names by a relative path inside the folder. Raises
    ImportRejected for a file named as an image that is not one, or too large."""
    root = folder.resolve()
    paths: set[str] = set()
    notes = []
    images = folder / IMAGES_FOLDER
    if images.is_dir():
        for file in sorted(p for p in images.rglob("*") if p.is_file()):
            relative = file.relative_to(folder).as_posix()
            if file.suffix.lower() in figures.IMAGE_SUFFIXES:
                paths.add(relative)
            elif not file.name.startswith("."):
                notes.append(f"{relative} is not an image; it was left out.")
    for match in NAMED_FILE.finditer(text):
        path = figures.relative_path(match.group(1) or match.group(2))
        if path and PurePosixPath(path).suffix.lower() in figures.IMAGE_SUFFIXES:
            if (folder / path).is_file():
                paths.add(path)
            elif path not in paths:
                notes.append(f"The text shows {path}, which the folder lacks.")
    incoming = []
    for path in sorted(paths):
        file = (folder / path).resolve()
        # A link may point anywhere on the disk: only files inside the folder.
        if not file.is_relative_to(root):
            raise ImportRejected(f"{path} points outside the content folder.")
        if file.stat().st_size > settings.FIGURE_MAX_BYTES:
            raise ImportRejected(
                f"{path} is larger than {figures.max_megabytes()}, the most a "
                "figure may be."
            )
        try:
            incoming.append(figures.checked(path, file.read_bytes()))
        except figures.FigureRejected as error:
            raise ImportRejected(str(error)) from error
    return incoming, list(dict.fromkeys(notes))


def _metadata(path: Path, read_text) -> dict:
    if not path.exists():
        return {}
    try:
        metadata = yaml.safe_load(read_text(path)) or {}
    except yaml.YAMLError as error:
        raise ImportRejected(
            f"metadata.yaml does not parse: {_one_line(error)}"
        ) from error
    if not isinstance(metadata, dict):
        raise ImportRejected("metadata.yaml should be a mapping (key: value).")
    return metadata


def _one_line(error: yaml.YAMLError) -> str:
    """PyYAML's message (several lines, with a drawing of the spot) as one line."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return " ".join(f"{problem}{where}".split())


def _manual_references(folder: Path, read_text) -> list[ParsedReference]:
    references = []
    for path in sorted(folder.glob("manual-references*.json")):
        # Our export keeps an imported reference list's records apart: provisional.
        is_manual = path.name != IMPORTED_REFERENCES
        try:
            items = json.loads(read_text(path))
        except json.JSONDecodeError as error:
            raise ImportRejected(f"{path.name} is not valid JSON: {error}") from error
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and item.get("id") for item in items
        ):
            raise ImportRejected(
                f"{path.name} should be a list of CSL records, each with an id."
            )
        for item in items:
            key = standardize(standard_id(item))
            csl = csl_record(item, key=key, source=path.name)
            references.append(ParsedReference(key=key, csl=csl, is_manual=is_manual))
    return references


def standard_id(item: dict) -> str:
    """The citekey a manual CSL record is for, as Manubot finds it
    (`CSL_Item.infer_id`): its `standard_citation`, else the `standard_id` its note
    names (a snapshot of fetched records has short random ids), else its `id`."""
    if item.get("standard_citation"):
        return str(item["standard_citation"])
    note = item.get("note")
    if isinstance(note, str):
        pairs = dict(NOTE_LINE.findall(note) + NOTE_BRACED.findall(note))
        if pairs.get("standard_id"):
            return pairs["standard_id"]
    return str(item["id"])


def _citation_tags(path: Path, read_text) -> list[ParsedReference]:
    if not path.exists():
        return []
    rows = list(csv.DictReader(read_text(path).splitlines(), delimiter="\t"))
    if rows and not {"tag", "citation"} <= set(rows[0]):
        raise ImportRejected("citation-tags.tsv needs a header row: tag<TAB>citation.")
    return [
        ParsedReference(
            key=standardize(f"tag:{row['tag'].strip()}"),
            alias_of=standardize(row["citation"].strip()),
        )
        for row in rows
        if row.get("tag") and row.get("citation")
    ]
