"""Lost writes: saves the server accepted whose change is not in the final text.

Each simulated contributor adds a marker no one else writes (`marker_for`) to a
paragraph of its own (`add_marker`), so every accepted save's marker must survive
every later save, merged or not; a save refused as a conflict (409) was never
accepted and is not a loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class AcceptedSave:
    """A save the server answered with "Saved" (or merged): `marker` was in its text."""

    section: str
    user: int
    marker: str


def marker_for(user: int, edit: int) -> str:
    """A word that appears in no text but the one this user's edit number wrote."""
    return f"lw{user:03d}n{edit:04d}"


def paragraph_prefix(user: int) -> str:
    return f"Load contributor {user} notes:"


def own_paragraph(user: int) -> str:
    """The paragraph a user starts with, before its first marker."""
    return f"{paragraph_prefix(user)} start."


def add_marker(body: str, *, user: int, marker: str) -> str:
    """The body with `marker` added at the end of the user's own paragraph (a new
    paragraph at the end if it has none), every other line unchanged."""
    prefix = paragraph_prefix(user)
    lines = body.split("\n")
    for number, line in enumerate(lines):
        if line.startswith(prefix):
            lines[number] = f"{line} {marker}"
            return "\n".join(lines)
    return f"{body.rstrip()}\n\n{prefix} {marker}\n"


def find_lost(
    accepted: Iterable[AcceptedSave], final_texts: Mapping[str, str]
) -> list[AcceptedSave]:
    """The accepted saves whose marker is missing from their section's final text
    (a section missing from `final_texts` lost everything saved in it)."""
    return [
        save
        for save in accepted
        if save.marker not in final_texts.get(save.section, "").split()
    ]
