"""The outline: the section tree's structure, as maintainers change it."""

from __future__ import annotations

from sections.models import Section


def set_hidden(section: Section, *, hidden: bool) -> None:
    """Show or hide a section in the public preview; the caller checked can_moderate."""
    section.is_hidden = hidden
    section.save(update_fields=["is_hidden"])
