"""Importing a manuscript: parse a file, then store everything in one transaction.

`import_path(path, format=…)` is all or nothing: a file that can't be imported
raises ImportRejected with a one-line reason and leaves the database untouched.
Importing the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from sections import (
    authors,
    claims,
    figures,
    references,
    rendering,
    source_files,
    tasks,
    todos,
)
from sections.citations.keys import find_citekeys, standardize
from sections.exceptions import ImportRejected
from sections.importing import manubot, markdown, plaintext
from sections.importing.parsed import ParsedManuscript
from sections.models import (
    Citation,
    Manuscript,
    Reference,
    Revision,
    Section,
    TodoItem,
)

FORMATS = ("text", "markdown", "manubot")
MAX_FILE_BYTES = 20 * 1024 * 1024
# A Manubot zip: what we unpack at most, against zip bombs and stray archives.
MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_ZIP_FILES = 1000


@dataclass
class ImportReport:
    manuscript: Manuscript
    created: bool
    counts: Counter = field(default_factory=Counter)
    todo_kinds: Counter = field(default_factory=Counter)
    claimed_by: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.created:
            return [
                f"“{self.manuscript}” is already imported from this file; nothing changed."
            ]
        c = self.counts
        kinds = ", ".join(
            f"{TodoItem.Kind(kind).label.lower()}: {n}"
            for kind, n in sorted(self.todo_kinds.items())
        )
        return [
            f"Imported “{self.manuscript}” ({self.manuscript.slug}).",
            f"Sections: {c['sections']} ({c['top_level']} top level).",
            f"References: {c['references']} ({c['with_identifier']} with an identifier, "
            f"{c['without_identifier']} without).",
            f"Citations: {c['citations']}.",
            f"TODO items: {sum(self.todo_kinds.values())}"
            + (f" ({kinds})." if kinds else "."),
            "Claims: "
            + (", ".join(self.claimed_by) if self.claimed_by else "none")
            + ".",
            f"Figures: {len(self.figures)}"
            + (f" ({', '.join(self.figures)})." if self.figures else "."),
            *self.notes,
        ]


def detect_format(path: Path) -> str:
    if path.is_dir() or path.suffix.lower() == ".zip":
        return "manubot"
    if path.suffix.lower() in {".md", ".markdown"}:
        return "markdown"
    return "text"


def import_path(path: Path, *, format: str | None = None) -> ImportReport:
    """Import a file (text, markdown), a folder or a .zip of one (manubot).

    Raises ImportRejected."""
    path = Path(path)
    if not path.exists():
        raise ImportRejected(f"{path} does not exist.")
    format = format or detect_format(path)
    if format not in FORMATS:
        raise ImportRejected(
            f"Unknown format {format!r}: use one of {', '.join(FORMATS)}."
        )
    if format == "manubot" and path.suffix.lower() == ".zip" and path.is_file():
        with tempfile.TemporaryDirectory(prefix="manubot-") as folder:
            parsed, digest = _parse_manubot(_extract_zip(path, Path(folder)))
        return store(parsed, source_name=path.name, source_sha256=digest)
    if format == "manubot":
        if not path.is_dir():
            raise ImportRejected(
                f"{path} is not a folder: a Manubot import takes a content/ folder."
            )
        parsed, digest = _parse_manubot(path)
    else:
        if path.is_dir():
            raise ImportRejected(
                f"{path} is a folder: use --format manubot for a content/ folder."
            )
        text = read_text(path)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if format == "text":
            parsed = plaintext.parse(text)
        else:
            parsed = markdown.parse(text, default_title=path.stem)
    return store(parsed, source_name=path.name, source_sha256=digest)


def _parse_manubot(path: Path) -> tuple[ParsedManuscript, str]:
    parsed = manubot.parse(path, read_text=read_text)
    files = sorted(p for p in manubot.content_folder(path).rglob("*") if p.is_file())
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
    return parsed, digest


def _extract_zip(path: Path, folder: Path) -> Path:
    """Unpack a zip into folder, refusing paths that would land outside it, links,
    and archives too big or too many files to be a content folder. Returns the
    folder that holds content/."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_FILES:
                raise ImportRejected(
                    f"{path.name} holds more than {MAX_ZIP_FILES} files."
                )
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise ImportRejected(
                    f"{path.name} unpacks to more than {MAX_ZIP_BYTES // 2**20} MB."
                )
            for member in members:
                name = member.filename.replace("\\", "/")
                parts = name.split("/")
                if name.startswith("/") or ".." in parts or ":" in parts[0]:
                    raise ImportRejected(
                        f"{path.name} holds an unsafe path: {member.filename[:100]}"
                    )
                if member.flag_bits & 0x1:
                    raise ImportRejected(f"{path.name} is encrypted.")
                if (member.external_attr >> 16) & 0o170000 == 0o120000:
                    raise ImportRejected(
                        f"{path.name} holds a symbolic link: {member.filename[:100]}"
                    )
                target = folder.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                # Read at most what the header declared, whatever the data says.
                with archive.open(member) as source:
                    data = source.read(member.file_size + 1)
                if len(data) > member.file_size:
                    raise ImportRejected(f"{path.name} is damaged: {member.filename}")
                target.write_bytes(data)
    # NotImplementedError: a compression method zipfile lacks; zlib.error: bad data.
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        zlib.error,
    ) as error:
        raise ImportRejected(
            f"{path.name} is not a readable zip file: {error}"
        ) from error
    if (folder / "content").is_dir() or any(folder.glob("*.md")):
        return folder
    # GitHub's "Download ZIP" puts the repository in a folder of its own.
    inner = [p for p in folder.iterdir() if (p / "content").is_dir()]
    if len(inner) == 1:
        return inner[0]
    raise ImportRejected(f"{path.name} has no content/ folder.")


def read_text(path: Path) -> str:
    """A file's text, refusing what is not UTF-8 text."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ImportRejected(
            f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MB."
        )
    data = path.read_bytes()
    if not data.strip():
        raise ImportRejected(f"{path.name} is empty.")
    if b"\x00" in data:
        raise ImportRejected(f"{path.name} is a binary file, not text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected(
            f"{path.name} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); save it as UTF-8 and try again."
        ) from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def store(
    parsed: ParsedManuscript, *, source_name: str, source_sha256: str
) -> ImportReport:
    """Write a parsed manuscript: all of it, or nothing. Raises ImportRejected for
    text that doesn't fit its column, before anything is written.

    Figure files are written to storage last, inside the transaction; if anything
    fails, the transaction rolls back and the files it added are removed."""
    with figures.removed_if_failed() as written, transaction.atomic():
        return _store(parsed, source_name, source_sha256, written)


def _store(
    parsed: ParsedManuscript,
    source_name: str,
    source_sha256: str,
    written: list[str],
) -> ImportReport:
    _refuse_overlong(parsed)
    slug = slugify(parsed.title)[:100] or "manuscript"
    existing = Manuscript.objects.filter(slug=slug).first()
    if existing is not None:
        if existing.source_sha256 == source_sha256:
            return ImportReport(manuscript=existing, created=False)
        raise ImportRejected(
            f"A manuscript titled “{existing.title}” already exists (from "
            f"{existing.source_name or 'the web'}); importing a different file over it "
            "would overwrite its edits."
        )
    manuscript = Manuscript.objects.create(
        title=parsed.title,
        slug=slug,
        source_name=source_name,
        source_sha256=source_sha256,
        metadata=parsed.metadata,
    )
    report = ImportReport(manuscript=manuscript, created=True, notes=list(parsed.notes))
    source_files.keep(manuscript, parsed.source_files)
    sections = _store_sections(manuscript, parsed, source_name)
    stored_references = _store_references(manuscript, parsed)
    report.counts["citations"] = _store_citations(
        manuscript, sections, stored_references
    )
    for section in sections:
        for todo in todos.sync_from_text(section):
            report.todo_kinds[todo.kind] += 1
        report.claimed_by += [
            f"{claim.contributor} on “{section.title}”"
            for claim in claims.sync_from_text(section)
        ]
    report.notes += authors.set_from_metadata(manuscript, parsed.authors)
    report.figures = [
        figure.path
        for figure in figures.store_imported(
            manuscript, parsed.figures, written=written
        )
    ]
    tasks.render_manuscript.delay_on_commit(manuscript.pk)
    references.fetch_new(stored_references.values())
    report.counts.update(
        sections=len(sections),
        top_level=sum(1 for s in sections if s.parent_id is None),
        references=len(stored_references),
        with_identifier=sum(
            1
            for r in stored_references.values()
            if r.state != Reference.State.NO_IDENTIFIER
        ),
        without_identifier=sum(
            1
            for r in stored_references.values()
            if r.state == Reference.State.NO_IDENTIFIER
        ),
    )
    return report


def _refuse_overlong(parsed: ParsedManuscript) -> None:
    """Raise ImportRejected, naming the first one, for a title, heading or citekey
    longer than the column it is stored in (an @handle or a claimant's name that
    long is not read as one: sections.todos.HANDLE, claims.find_in).

    PostgreSQL refuses an over-long value with a database error halfway through the
    import; SQLite stores it whole. Either way it must be a reason, said up front.
    """
    title_limit = _limit(Manuscript, "title")
    if len(parsed.title) > title_limit:
        raise ImportRejected(
            f"The manuscript's title “{_start(parsed.title)}” is {len(parsed.title)} "
            f"characters long; at most {title_limit}."
        )
    heading_limit = min(_limit(Section, "title"), _limit(Revision, "title"))
    key_limit = min(_limit(Reference, "key"), _limit(Citation, "key_as_written"))
    for section in parsed.sections:
        where = f"the heading “{_start(section.title)}”"
        if len(section.title) > heading_limit:
            raise ImportRejected(
                f"{where[0].upper()}{where[1:]} is {len(section.title)} characters "
                f"long; at most {heading_limit}."
            )
        if len(section.source_heading) > _limit(Section, "source_heading"):
            raise ImportRejected(
                f"In {section.source_file}, the heading line "
                f"“{_start(section.source_heading)}” is "
                f"{len(section.source_heading)} characters long; at most "
                f"{_limit(Section, 'source_heading')}."
            )
        if problem := rendering.nesting_problem(section.body):
            raise ImportRejected(f"Under {where}: {problem}.")
        for found in find_citekeys(section.body):
            key = max(found.key_as_written, standardize(found.key_as_written), key=len)
            if len(key) > key_limit:
                raise ImportRejected(
                    f"Under {where}, the citekey “{_start(key)}” is {len(key)} "
                    f"characters long; at most {key_limit}."
                )
    for reference in parsed.references:
        for key in (reference.key, reference.alias_of or ""):
            if len(key) > key_limit:
                raise ImportRejected(
                    f"The reference “{_start(key)}” has a citekey of {len(key)} "
                    f"characters; at most {key_limit}."
                )


def _limit(model: type, field: str) -> int:
    """The column's length, as the model declares it."""
    return model._meta.get_field(field).max_length


def _start(text: str, length: int = 60) -> str:
    """The beginning of a long text, enough to find it by."""
    return text if len(text) <= length else text[: length - 1] + "…"


def _store_sections(
    manuscript: Manuscript, parsed: ParsedManuscript, source_name: str
) -> list[Section]:
    sections: list[Section] = []
    parents: list[Section] = []  # the open section at each level
    used_slugs: set[str] = set()
    for position, parsed_section in enumerate(parsed.sections, start=1):
        level = min(parsed_section.level, len(parents) + 1)
        parents = parents[: level - 1]
        section = Section.objects.create(
            manuscript=manuscript,
            parent=parents[-1] if parents else None,
            position=position,
            level=level,
            title=parsed_section.title,
            heading_attributes=parsed_section.heading_attributes,
            slug=_unique_slug(
                parsed_section.title or Path(parsed_section.source_file).stem,
                used_slugs,
            ),
            body=parsed_section.body,
            source_file=parsed_section.source_file,
            source_heading=parsed_section.source_heading,
            source_layout=dict(parsed_section.source_layout, level_in_outline=level)
            if parsed_section.source_file
            else {},
            status=Section.Status.DRAFTING
            if parsed_section.body.strip()
            else Section.Status.OUTLINE,
        )
        parents.append(section)
        sections.append(section)
    Revision.objects.bulk_create(
        Revision(
            section=s,
            title=s.title,
            body=s.body,
            summary=f"Imported from {source_name}",
            words_added=len(s.body.split()),
        )
        for s in sections
    )
    return sections


def _unique_slug(title: str, used: set[str]) -> str:
    base = slugify(title)[:100].strip("-") or "section"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


def _store_references(
    manuscript: Manuscript, parsed: ParsedManuscript
) -> dict[str, Reference]:
    references: dict[str, Reference] = {}
    for item in parsed.references:
        reference = references.get(item.key) or Reference(
            manuscript=manuscript, key=item.key
        )
        if item.is_manual:
            reference.csl_manual = item.csl
            reference.metadata_source = source_files.IMPORTED_MANUAL
        elif item.csl:
            reference.csl_provisional = item.csl
            reference.metadata_source = (
                reference.metadata_source or "imported reference list"
            )
        reference.original_text = item.original_text or reference.original_text
        reference.imported_number = item.number or reference.imported_number
        references[item.key] = reference
    # Citekeys the text uses that no list defines: known to exist, metadata to fetch.
    for section_body in (s.body for s in parsed.sections):
        for found in find_citekeys(section_body):
            key = standardize(found.key_as_written)
            references.setdefault(key, Reference(manuscript=manuscript, key=key))
    for item in parsed.references:
        if item.alias_of:
            references.setdefault(
                item.alias_of, Reference(manuscript=manuscript, key=item.alias_of)
            )
    for reference in references.values():
        reference.state = _initial_state(reference)
    Reference.objects.bulk_create(references.values())
    stored = {r.key: r for r in Reference.objects.filter(manuscript=manuscript)}
    aliased = []
    for item in parsed.references:
        if item.alias_of:
            tag = stored[item.key]
            tag.alias_of = stored[item.alias_of]
            tag.state = Reference.State.RESOLVED
            tag.metadata_source = f"alias of {item.alias_of}"[:100]
            aliased.append(tag)
    Reference.objects.bulk_update(aliased, ["alias_of", "state", "metadata_source"])
    return stored


def _initial_state(reference: Reference) -> str:
    if reference.csl_manual:
        return Reference.State.RESOLVED
    return Reference.state_without_record(reference.key)


def _store_citations(
    manuscript: Manuscript, sections: list[Section], references: dict[str, Reference]
) -> int:
    citations = [
        Citation(
            section=section,
            reference=references[standardize(found.key_as_written)],
            key_as_written=found.key_as_written,
            position=found.start,
        )
        for section in sections
        for found in find_citekeys(section.body)
    ]
    Citation.objects.bulk_create(citations)
    return len(citations)
