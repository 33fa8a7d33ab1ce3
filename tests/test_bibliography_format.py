"""Bibliography entries: real CSL styles, and upstream text that stays text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sections.citations.format import UnknownStyle, format_entry
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
