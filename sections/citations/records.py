"""Citation and Reference rows kept in step with what a section's text cites."""

from __future__ import annotations

from sections import templating
from sections.citations.keys import find_citekeys, standardize, tag_definitions
from sections.models import Citation, Contributor, Reference, Section


def sync_section(section: Section, *, by: Contributor | None = None) -> list[Reference]:
    """Replace the section's Citation rows with what its body cites now (for a body
    with a Jinja2 template, what its output cites, as Manubot sees it; positions are
    then offsets in that output).

    Keys nobody cited before become References waiting for metadata, added `by` the
    author of the save; those are returned, for the caller to queue their resolution.
    Runs in the caller's transaction.
    """
    found = [
        (f, standardize(f.key_as_written))
        for f in find_citekeys(templating.citable_text(section))
    ]
    keys = {key for _, key in found}
    known = {
        r.key: r
        for r in Reference.objects.filter(
            manuscript_id=section.manuscript_id, key__in=keys
        )
    }
    new = [
        Reference(
            manuscript_id=section.manuscript_id,
            key=key,
            state=Reference.state_without_record(key),
            added_by=by,
        )
        for key in sorted(keys - known.keys())
    ]
    # ignore_conflicts: another save may have created the same key a moment ago.
    Reference.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        known = {
            r.key: r
            for r in Reference.objects.filter(
                manuscript_id=section.manuscript_id, key__in=keys
            )
        }
    Citation.objects.filter(section=section).delete()
    Citation.objects.bulk_create(
        Citation(
            section=section,
            reference=known[key],
            key_as_written=f.key_as_written,
            position=f.start,
        )
        for f, key in found
    )
    return [known[r.key] for r in new] + _sync_tags(section, by=by)


def _sync_tags(section: Section, *, by: Contributor | None) -> list[Reference]:
    """Point the tags the body defines (`[@tag:X]: doi:…`, Manubot's link-reference
    form) at their targets; a target nobody knew becomes a reference waiting for
    metadata, returned like new citekeys. A tag the body no longer defines keeps its
    alias (it may be defined elsewhere, or set on the references page)."""
    new = []
    for tag, target in tag_definitions(section.body):
        if target == tag or target.startswith("tag:") or len(target) > 500:
            continue
        aliased, created = Reference.objects.get_or_create(
            manuscript_id=section.manuscript_id,
            key=target,
            defaults={"state": Reference.state_without_record(target), "added_by": by},
        )
        if created:
            new.append(aliased)
        existing = Reference.objects.filter(
            manuscript_id=section.manuscript_id, key=tag
        ).first()
        if existing is None or existing.alias_of_id != aliased.pk:
            Reference.objects.update_or_create(
                manuscript_id=section.manuscript_id,
                key=tag,
                defaults={
                    "alias_of": aliased,
                    "state": Reference.State.RESOLVED,
                    "metadata_source": f"alias of {target}"[:100],
                },
                create_defaults={
                    "alias_of": aliased,
                    "state": Reference.State.RESOLVED,
                    "metadata_source": f"alias of {target}"[:100],
                    "added_by": by,
                },
            )
    return new
