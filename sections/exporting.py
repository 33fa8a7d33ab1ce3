"""Writing a manuscript back out. Markdown: one file that `import_manuscript
--format markdown` reads back into the same sections, references and citations."""

from __future__ import annotations

import csv
import io

import yaml

from sections.models import Manuscript, Reference
from sections.selectors import Contribution


def to_markdown(manuscript: Manuscript) -> str:
    """The manuscript as one Markdown file, citations in Manubot form.

    A YAML front-matter block carries the title and, as pandoc does, the CSL records
    the manuscript holds (`references`), so the bibliography survives the trip;
    citation tags follow the text as Markdown link references.
    """
    references = list(
        Reference.objects.filter(manuscript=manuscript)
        .select_related("alias_of")
        .order_by("key")
    )
    front = {"title": manuscript.title}
    records = [
        dict(r.csl, id=r.key) for r in references if r.csl_manual or r.csl_provisional
    ]
    if records:
        front["references"] = records
    parts = [
        "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---"
    ]
    for section in manuscript.sections.present().order_by("position"):
        parts.append(f"{'#' * section.level} {section.title}")
        if section.body.strip():
            parts.append(section.body.strip("\n"))
    tags = [f"[@{r.key}]: {r.alias_of.key}" for r in references if r.alias_of]
    if tags:
        parts.append("\n".join(tags))
    return "\n\n".join(parts) + "\n"


# Activity and contributions

CONTRIBUTION_COLUMNS = [
    "Contributor",
    "ORCID",
    "Revisions",
    "Words added",
    "Words removed",
    "Sections edited",
    "Comments",
    "TODOs closed",
    "References added",
]


def contributions_csv(rows: list[Contribution]) -> str:
    """The contributions table as CSV, the columns of the page plus ORCID."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CONTRIBUTION_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                _spreadsheet_safe(row.contributor.display_name),
                row.contributor.orcid,
                row.revisions,
                row.words_added,
                row.words_removed,
                row.sections_edited,
                row.comments,
                row.todos_closed,
                row.references_added,
            ]
        )
    return out.getvalue()


def _spreadsheet_safe(text: str) -> str:
    # Names are typed by users; a spreadsheet would run "=HYPERLINK(…)" as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
