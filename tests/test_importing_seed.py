"""The seed draft, imported faithfully: sections, references, citations, TODOs, claims."""

from __future__ import annotations

import re
from io import StringIO

from django.core.management import call_command

from sections import exporting, importing
from sections.citations.keys import CITATION_GROUP, find_citekeys, standardize
from sections.models import (
    Citation,
    Claim,
    Contributor,
    Manuscript,
    Reference,
    Revision,
    Section,
    TodoItem,
)
from tests.conftest import SEED

ALL_MODELS = [
    Manuscript,
    Section,
    Revision,
    Reference,
    Citation,
    TodoItem,
    Claim,
    Contributor,
]


def section(manuscript, title: str) -> Section:
    return manuscript.sections.get(title=title)


def test_seed_becomes_an_outline_of_sections_in_reading_order(seed):
    titles = list(seed.sections.order_by("position").values_list("title", flat=True))
    assert seed.title == "Deep Learning, Genomics, and Precision Medicine"
    assert titles[:3] == [
        "Front matter",
        "What is deep learning?",
        "Will deep learning transform the study of human disease?",
    ]
    assert titles[-1] == "Author contributions"
    assert len(titles) == 36
    clinical_care = section(seed, "Clinical care")
    children = list(
        clinical_care.children.order_by("position").values_list("title", flat=True)
    )
    assert children[:2] == [
        "Imaging applications in health care",
        "Electronic health records",
    ]
    assert section(seed, "Imaging applications in health care").level == 2
    # Short list items that lost their bullets are text, not headings.
    assert (
        "Bengio diet networks paper"
        in section(seed, 'Biomedical data is often "Wide"').body
    )
    assert section(seed, "Modeling Metabolism and Chemical Reactivity").level == 1


def test_every_paragraph_of_the_seed_lands_in_exactly_one_section_in_order(seed):
    number_of = {r.key: r.imported_number for r in seed.references.all()}

    def back_to_numbers(body: str) -> str:
        def numbers(match: re.Match) -> str:
            keys = [standardize(k.key_as_written) for k in find_citekeys(match.group())]
            return "[" + ", ".join(str(number_of[key]) for key in keys) + "]"

        return CITATION_GROUP.sub(numbers, body)

    rebuilt = []
    for s in seed.sections.order_by("position"):
        if s.title != "Front matter":
            rebuilt.append(s.title)
        rebuilt += [p for p in back_to_numbers(s.body).split("\n\n") if p]
    source = [
        b.strip("\n") for b in re.split(r"\n[ \t]*\n", SEED.read_text()) if b.strip()
    ]
    reference_list_start = next(
        i for i, b in enumerate(source) if b.startswith("1. Stephens")
    )
    assert rebuilt == source[1:reference_list_start]


def test_numbered_citations_become_manubot_citekeys(seed):
    body = section(seed, "What is deep learning?").body
    assert "figure 1 [@doi:10.1038/nature14539] These neural networks" in body
    assert not re.search(r"\[\d+\]", body)
    # A DOI with parentheses can't be a bare citekey; pandoc's braces keep it whole.
    assert (
        "[@{doi:10.1016/s0167-9473(99)00098-5}]"
        in section(seed, "Electronic health records").body
    )
    assert Citation.objects.filter(section__manuscript=seed).count() == 89
    cited = Citation.objects.get(
        section__title="What is deep learning?",
        reference__key="doi:10.1038/nature14539",
    )
    assert cited.key_as_written == "doi:10.1038/nature14539"


def test_reference_list_becomes_references_with_provisional_metadata(seed):
    assert seed.references.count() == 120
    lecun = seed.references.get(key="doi:10.1038/nature14539")
    assert lecun.imported_number == 3
    assert lecun.state == Reference.State.PENDING
    assert lecun.csl_provisional["author"][0] == {"family": "LeCun", "given": "Y."}
    assert lecun.csl_provisional["issued"] == {"date-parts": [[2015]]}
    assert lecun.csl_provisional["title"] == "Deep learning"
    assert lecun.csl_provisional["container-title"] == "Nature"
    assert (lecun.csl_provisional["volume"], lecun.csl_provisional["page"]) == (
        "521",
        "436–444",
    )
    assert lecun.csl == lecun.csl_provisional


def test_entries_with_no_identifier_keep_their_text_under_a_stable_tag_key(seed):
    in_press = seed.references.get(imported_number=2)
    assert in_press.key == "tag:in-press-see-2"
    assert in_press.state == Reference.State.NO_IDENTIFIER
    assert in_press.original_text == "In press. See"
    atomnet = seed.references.get(imported_number=24)
    assert atomnet.key == "tag:wallach-2015-atomnet"
    assert atomnet.csl_provisional["title"].startswith("AtomNet: A deep convolutional")
    assert "[@tag:wallach-2015-atomnet]" in section(seed, "Patient Treatment").body
    assert "[@tag:in-press-see-2]" in section(seed, "Front matter").body


def test_missing_numbers_and_informal_keys_become_missing_citation_todos(seed):
    missing = TodoItem.objects.filter(
        section__manuscript=seed, kind=TodoItem.Kind.MISSING_CITATION
    )
    texts = " | ".join(missing.values_list("text", flat=True))
    for written in [
        "[14]",
        "[50]",
        "[McHardy]",
        "[refs]",
        "[ Ding et al]",
        "[Yok,Soueidan]",
    ]:
        assert written in texts
    # They stay visible in the text, for a person to fix.
    assert "patients [14]" in section(seed, "Disease and Patient Categorization").body
    assert "techniques [refs]" in section(seed, "Morphological phenotypes").body


def test_todo_notes_and_placeholders_become_todo_items(seed):
    notes = TodoItem.objects.filter(
        section__manuscript=seed, kind=TodoItem.Kind.INLINE_NOTE
    )
    assert notes.count() == 8
    expand = notes.get(section__title="Ligand-Based Prediction of Bioactivity")
    assert expand.text == "TODO: expand outline"
    assert "TODO: expand outline" in expand.section.body
    sw1 = notes.get(text__contains="@sw1")
    assert sw1.suggested_assignee.handle == "sw1"
    assert sw1.suggested_assignee.user is None
    placeholders = TodoItem.objects.filter(
        section__manuscript=seed, kind=TodoItem.Kind.PLACEHOLDER
    )
    assert [p.text for p in placeholders.order_by("section__position")] == [
        "Abstract goes here.",
        "Paper review was conducted in the open by # individuals, and the manuscript "
        "was drafted in a series of commits from # authors.",
    ]


def test_claim_sentence_becomes_a_claim_by_a_contributor_without_an_account(seed):
    claim = Claim.objects.get(section__manuscript=seed)
    assert claim.section.title == "Protein secondary and tertiary structure"
    assert claim.contributor.display_name == "Jinbo Xu"
    assert claim.contributor.user is None
    assert claim.note == "Jinbo Xu is writing this"


def test_every_imported_section_starts_its_history_with_a_revision(seed):
    assert Revision.objects.filter(section__manuscript=seed).count() == 36
    revision = section(seed, "Patient Treatment").revisions.get()
    assert revision.body == section(seed, "Patient Treatment").body
    assert revision.summary == "Imported from deep-review-draft-2017.txt"


def test_importing_the_seed_twice_duplicates_nothing(seed):
    before = {model: model.objects.count() for model in ALL_MODELS}
    report = importing.import_path(SEED, format="text")
    assert not report.created
    assert {model: model.objects.count() for model in ALL_MODELS} == before


def test_import_command_prints_what_it_found(db):
    out = StringIO()
    call_command("import_manuscript", str(SEED), "--format", "text", stdout=out)
    printed = out.getvalue()
    assert "Sections: 36" in printed
    assert "References: 120 (73 with an identifier, 47 without)" in printed
    assert "Citations: 89." in printed
    assert "Claims: Jinbo Xu on “Protein secondary and tertiary structure”." in printed
    assert "Cited by number but not in the reference list: 14" in printed


def test_markdown_export_imports_back_to_the_same_manuscript(seed, tmp_path):
    exported = exporting.to_markdown(seed)
    sections_before = list(
        seed.sections.values_list("title", "level", "body", "position")
    )
    references_before = {r.key: r.csl for r in seed.references.all()}
    citations_before = Citation.objects.filter(section__manuscript=seed).count()
    seed.delete()

    path = tmp_path / "review.md"
    path.write_text(exported, encoding="utf-8")
    again = importing.import_path(path, format="markdown").manuscript

    assert (
        list(again.sections.values_list("title", "level", "body", "position"))
        == sections_before
    )
    assert {r.key: r.csl for r in again.references.all()} == references_before
    assert (
        Citation.objects.filter(section__manuscript=again).count() == citations_before
    )
    assert exporting.to_markdown(again) == exported
