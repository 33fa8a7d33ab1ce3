"""Writing a manuscript back out. Markdown: one file that `import_manuscript
--format markdown` reads back into the same sections, references and citations."""

from __future__ import annotations

import yaml

from sections.models import Manuscript, Reference


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
