"""A file that can't be imported gets a one-line reason and changes nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from sections.models import (
    Citation,
    Contributor,
    Manuscript,
    Reference,
    Section,
    TodoItem,
)
from tests.conftest import SEED

GOOD_BODY = "A review\n\nIntroduction\n\nText citing [1].\n\n"

BAD_FILES = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not text"),
    "empty": (b"\n\n  \n", "is empty"),
    "latin-1": (
        "Résumé\n\nIntroduction\n\nCafé.\n".encode("latin-1"),
        "is not UTF-8 text",
    ),
    "no headings": (
        b"A title\n\nJust one paragraph, and another sentence.\n",
        "No headings found",
    ),
    "repeated numbers": (
        (
            GOOD_BODY
            + "1. Smith J. 2015 A. Nature 1, 2.\n\n1. Jones K. 2016 B. Cell 3, 4.\n"
        ).encode(),
        "reference list does not parse",
    ),
    "empty reference list": (
        (GOOD_BODY + "References\n\nSmith and Jones wrote something once\n").encode(),
        "reference list does not parse",
    ),
}


def counts() -> dict:
    models = [Manuscript, Section, Reference, Citation, TodoItem, Contributor]
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_is_refused_with_a_reason_and_the_database_untouched(
    db, tmp_path, name
):
    data, reason = BAD_FILES[name]
    path = tmp_path / "draft.txt"
    path.write_bytes(data)
    before = counts()
    with pytest.raises(CommandError, match=reason) as refused:
        call_command("import_manuscript", str(path), "--format", "text")
    assert "\n" not in str(refused.value)
    assert counts() == before


def test_a_different_file_under_an_existing_title_is_refused_not_merged(seed, tmp_path):
    changed = tmp_path / "draft.txt"
    changed.write_text(SEED.read_text().replace("Abstract goes here.", "An abstract."))
    before = counts()
    with pytest.raises(CommandError, match="already exists"):
        call_command("import_manuscript", str(changed), "--format", "text")
    assert counts() == before
    assert (
        seed.sections.get(title="Front matter").body.count("Abstract goes here.") == 1
    )


def test_command_line_exits_non_zero_with_one_line_on_stderr(tmp_path):
    path = tmp_path / "draft.txt"
    path.write_bytes(b"\x00\x01\x02")
    done = subprocess.run(
        [sys.executable, "manage.py", "import_manuscript", str(path)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
        check=False,
    )
    assert done.returncode != 0
    assert (
        done.stderr.strip()
        == "CommandError: Not imported: draft.txt is a binary file, not text."
    )


LONG = "x" * 600
OVERLONG_MARKDOWN = {
    "title": (
        f"---\ntitle: T{LONG}\n---\n# Introduction\n\nText.\n",
        "The manuscript's title “Tx",
    ),
    "heading": (
        f"---\ntitle: A review\n---\n# Introduction\n\nText.\n\n## H{LONG}\n\nMore.\n",
        "The heading “Hx",
    ),
    "citekey": (
        "---\ntitle: A review\n---\n# Introduction\n\n"
        f"Text [@url:https://example.org/{LONG}].\n",
        "Under the heading “Introduction”, the citekey “url:https://example.org/x",
    ),
}


@pytest.mark.parametrize("name", OVERLONG_MARKDOWN)
def test_text_longer_than_its_column_is_refused_in_one_line_before_writing(
    db, tmp_path, name
):
    text, reason = OVERLONG_MARKDOWN[name]
    path = tmp_path / "draft.md"
    path.write_text(text)
    before = counts()
    with pytest.raises(CommandError, match=re.escape(reason)) as refused:
        call_command("import_manuscript", str(path), "--format", "markdown")
    assert "\n" not in str(refused.value)
    assert "characters long; at most" in str(refused.value)
    assert counts() == before


def test_an_overlong_handle_or_claimant_is_not_read_as_one(db, tmp_path):
    """Longer than the column a contributor's handle or name is stored in: plain
    text, not a person made with a name the database refuses."""
    path = tmp_path / "draft.md"
    path.write_text(
        "---\ntitle: A review\n---\n# Introduction\n\n"
        f"Text. TODO: ask @h{'a' * 150} about it.\n\n"
        f"N{'a' * 250} is writing this section.\n\n"
        "TODO: ask @sw1 too.\n\nJinbo Xu is writing this section.\n"
    )
    call_command("import_manuscript", str(path), "--format", "markdown")
    section = Section.objects.get(title="Introduction")
    assert "@h" + "a" * 150 in section.body
    assert sorted(Contributor.objects.values_list("display_name", "handle")) == [
        ("@sw1", "sw1"),
        ("Jinbo Xu", ""),
    ]
