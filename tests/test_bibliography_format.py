"""Bibliography entries: real CSL styles, and upstream text that stays text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from citeproc import CitationItem

from sections.citations import format as citation_format
from sections.citations.format import (
    UnknownStyle,
    _without_label,
    format_entries,
    format_entry,
)
from sections.importing import reference_list

UPSTREAM = Path(__file__).resolve().parent / "fixtures" / "upstream"
LECUN = "3. LeCun Y, Bengio Y, Hinton G. 2015 Deep learning. Nature 521, 436–444. (doi:10.1038/nature14539)"


def provisional(entry: str) -> dict:
    return reference_list.parse([entry])[0].csl


def test_imported_entry_formats_in_the_chosen_style():
    csl = provisional(LECUN)
    assert format_entry(csl, style="nature") == (
        "LeCun, Y., Bengio, Y. &amp; Hinton, G. Deep learning. <i>Nature</i> <b>521</b>, 436–444 (2015)."
    )
    assert format_entry(csl, style="apa").startswith(
        "LeCun, Y., Bengio, Y., &amp; Hinton, G. (2015)."
    )


def test_markup_in_upstream_metadata_is_shown_as_text_never_run():
    csl = provisional(LECUN) | {
        "title": 'Deep <script>alert(1)</script> <img src=x onerror="alert(2)"> learning',
        "author": [{"family": "<b onmouseover=alert(3)>LeCun</b>", "given": "Y."}],
    }
    entry = format_entry(csl, style="nature")
    for tag in ["<script", "<img", "<b onmouseover"]:
        assert tag not in entry
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in entry


def test_csl_rich_text_in_a_title_shows_as_italics_when_it_is_balanced():
    italic = provisional(LECUN) | {"title": "Neurons <i>in vivo</i> and H<sub>2</sub>O"}
    entry = format_entry(italic, style="nature")
    assert "Neurons <i>in vivo</i> and H<sub>2</sub>O" in entry
    unclosed = provisional(LECUN) | {"title": "Neurons <i>in vivo and <b>more</i>"}
    entry = format_entry(unclosed, style="nature")
    assert "Neurons &lt;i&gt;in vivo and &lt;b&gt;more&lt;/i&gt;" in entry


def test_crossref_records_with_their_own_type_names_format():
    record = json.loads(
        (UPSTREAM / "doi-csl" / "10.1126_science.169.3946.635.csl.json").read_text()
    )
    assert record["type"] == "journal-article"
    entry = format_entry(record, style="nature")
    assert (
        entry
        == "Frank, H. S. The Structure of Ordinary Water. <i>Science</i> <b>169</b>, 635–641 (1970)."
    )


@pytest.mark.parametrize(
    ("entry", "formatted"),
    [
        ("2. In press. See", "In press. See."),
        (
            "24. Wallach I, Dzamba M, Heifets A. 2015 AtomNet: A deep convolutional neural network.",
            "Wallach, I., Dzamba, M. &amp; Heifets, A. AtomNet: A deep convolutional neural network. (2015).",
        ),
    ],
)
def test_entries_without_identifier_or_journal_still_read_well(entry, formatted):
    assert format_entry(provisional(entry), style="nature") == formatted


def test_an_unknown_style_is_a_readable_error():
    with pytest.raises(UnknownStyle, match="no CSL style called “no-such-style”"):
        format_entry(provisional(LECUN), style="no-such-style")


def upstream_records() -> list[dict]:
    return [
        json.loads(path.read_text())
        for path in sorted((UPSTREAM / "doi-csl").glob("*.json"))
    ]


@pytest.mark.parametrize("style", ["nature", "apa", "ieee", "chicago-author-date"])
def test_entries_are_the_same_alone_together_and_again(style):
    """Answers the style remembers from one bibliography never leak into the next."""
    records = upstream_records() + [
        provisional(LECUN),
        provisional("2. In press. See"),
    ]
    together = format_entries(records, style=style)
    assert format_entries(records[::-1], style=style) == together[::-1]
    assert [format_entry(record, style=style) for record in records] == together
    assert all(entry.strip() for entry in together)


@pytest.mark.django_db
@pytest.mark.parametrize("style", ["nature", "apa", "ieee"])
def test_remembered_lookups_change_no_entry(seed, style, monkeypatch):
    """The style's remembered look-ups and items give citeproc-py's own output, byte
    for byte, for the seed's references and the recorded upstream records."""
    records = [reference.csl for reference in seed.references.order_by("pk")]
    records += upstream_records()
    remembered = format_entries(records, style=style)
    monkeypatch.setattr(citation_format, "_remember_lookups", lambda style: None)
    monkeypatch.setattr(citation_format, "_Item", CitationItem)
    # A style parsed afresh, not this thread's remembering one.
    monkeypatch.setattr(citation_format, "load_style", citation_format._parse_style)
    plain = format_entries(records, style=style)
    assert len(remembered) == len(records) == 125
    assert remembered == plain


@pytest.mark.parametrize(
    ("entry", "number", "without"),
    [
        ("1. LeCun, Y. Deep learning.", 1, "LeCun, Y. Deep learning."),
        (" [12] LeCun, Y.", 12, "LeCun, Y."),
        ("(3)\tLeCun, Y.", 3, "LeCun, Y."),
        ("7 LeCun, Y.", 7, "LeCun, Y."),
        ("[2] LeCun, Y.", 3, "[2] LeCun, Y."),
        ("LeCun, Y. 1. Deep learning.", 1, "LeCun, Y. 1. Deep learning."),
    ],
)
def test_a_numeric_styles_own_label_is_taken_off(entry, number, without):
    assert _without_label(entry, number) == without


@pytest.mark.parametrize("style", ["nature", "ieee", "american-medical-association"])
def test_numeric_styles_entries_carry_no_number(style):
    entries = format_entries([provisional(LECUN)] * 12, style=style)
    assert all(entry.startswith(("LeCun", "Y. LeCun")) for entry in entries), entries
