"""Manubot's Jinja2 templates: readers see their output, built from the manuscript's
metadata and author list as they are now; writers keep the template; a template
error shows its line to contributors and nothing to the public; hostile templates
are stopped."""

from __future__ import annotations

import datetime
import re
import shutil
import time
from pathlib import Path

import jinja2
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from sections import templating
from sections.models import Contributor, Manuscript, Reference, Section, SectionRender
from tests.factories import preview_url

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "manubot-sample"
TEMPLATE_MARKS = ("{%", "{{", "{##", "%}", "}}")


@pytest.fixture
def sample(db, django_capture_on_commit_callbacks) -> Manuscript:
    """The sample Manubot manuscript, imported by the real import command."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_manuscript", str(SAMPLE))
    return Manuscript.objects.get()


def section(manuscript: Manuscript, slug: str) -> Section:
    return manuscript.sections.get(slug=slug)


def page_url(target: Section, name: str) -> str:
    return reverse(f"sections:{name}", args=[target.manuscript.slug, target.slug])


def public_page(client) -> str:
    response = client.get(preview_url())
    assert response.status_code == 200
    return response.text


def manubot_date(day: datetime.date) -> str:
    """Manubot's `f"{now:%B} {now.day}, {now.year}"`, in its English month names."""
    return f"{day:%B} {day.day}, {day.year}"


def save(client, target: Section, body: str, capture):
    form = client.get(page_url(target, "section-edit")).context["form"]
    fields = {name: form.initial.get(name) or "" for name in ["title", "body", "base"]}
    fields.update(body=body, summary="Template")
    with capture(execute=True):
        response = client.post(page_url(target, "section-edit"), fields)
    assert response.status_code == 302
    return response


def test_the_public_sees_what_manubot_builds_from_the_sample_templates(sample, client):
    page = public_page(client)

    today = timezone.now().astimezone(datetime.UTC).date()
    assert f"was automatically generated\non {manubot_date(today)}." in page
    assert "permalink" not in page  # html_url_versioned comes from CI: undefined
    # Manubot's author loop: Chiara has no ORCID iD, so her line follows a blank one.
    assert "Ana Duarte<sup>1,2,†</sup>," in page
    assert "Byung Kim<sup>2</sup>," in page
    assert "<p>Chiara Rossi<sup>3</sup></p>" in page
    assert re.findall(r"<li>([^<]+)<br></li>", page) == [
        "Department of Genome Sciences, Example University, Springfield",
        "Center for Cell Atlases, Example Institute, Shelbyville",
        "Department of Statistics, Another University, Capital City",
    ]
    # Grouped by v2, sorted by it; Chiara's empty v2 says nothing.
    assert "<p>Drafted one or more subsections: Byung Kim. </p>" in page
    assert "<p>Revised the imaging section: Ana Duarte. </p>" in page
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page)
    assert rows == [
        ("Ana Duarte", "None", "2020-03-04"),
        ("Byung Kim", "Consults for Example Genomics Inc.", "2020-03-09"),
        ("Chiara Rossi", "None", "2020-02-28"),
    ]
    body = page[page.index('id="00front-matter"') :]
    assert not [mark for mark in TEMPLATE_MARKS if mark in body]
    assert "Jinja2 front-matter template" not in body  # a {## comment ##}


def test_output_is_byte_for_byte_what_manubots_jinja2_environment_makes(sample):
    """Our sandbox, bounds and variables change nothing a real template prints:
    each sample section against Manubot's own environment settings."""
    manubot_environment = jinja2.Environment(
        loader=jinja2.BaseLoader(),
        autoescape=False,
        comment_start_string="{##",
        comment_end_string="##}",
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
    )
    variables = templating.variables(sample)
    templated = [s for s in sample.sections.all() if templating.has_template(s.body)]

    assert len(templated) == 4
    for each in templated:
        expected = manubot_environment.from_string(each.body).render(variables.values)
        assert templating.evaluate(each.body, variables).text == expected
    assert variables.values["manubot"]["authors"][0]["affiliation_numbers"] == [1, 2]
    assert variables.values["manubot"]["authors"][0]["funders"] == [
        "Example Foundation grant EF-1234"
    ]
    assert variables.values["pandoc"]["keywords"] == [
        "single-cell",
        "deep learning",
        "review",
    ]
    assert "ci_source" not in variables.values["manubot"]


def test_every_metadata_key_is_kept_on_the_imported_manuscript(sample):
    metadata = sample.metadata

    assert set(metadata) == {"title", "keywords", "lang", "thumbnail", "authors"}
    assert metadata["lang"] == "en-US"
    assert metadata["authors"][1]["coi"] == {
        "string": "Consults for Example Genomics Inc.",
        "lastapproved": "2020-03-09",
    }
    assert metadata["authors"][0]["symbol_str"] == "†"


def test_the_editor_keeps_the_template_and_its_live_preview_shows_the_output(
    sample, contributor_client
):
    authors = section(sample, "authors")

    editor = contributor_client.get(page_url(authors, "section-edit"))
    assert editor.context["form"].initial["body"] == authors.body
    assert "{% for author in manubot.authors %}" in editor.text

    preview = contributor_client.post(
        page_url(authors, "section-live-preview"),
        {"title": "Authors", "body": authors.body},
    )
    assert preview.status_code == 200
    assert "Ana Duarte<sup>1,2,†</sup>," in preview.text
    assert "{% for" not in preview.text


def test_a_template_error_shows_its_line_to_contributors_and_a_blank_to_the_public(
    sample, contributor_client, client, django_capture_on_commit_callbacks
):
    target = section(sample, "author-contributions")
    body = (
        "Everyone helped.\n\n"
        "Lead: {{ manubot.authors[0].name }}.\n\n"
        "Source: {{ manubot.ci_source.repo_slug }}\n"
    )
    save(contributor_client, target, body, django_capture_on_commit_callbacks)

    preview = contributor_client.post(
        page_url(target, "section-live-preview"), {"title": target.title, "body": body}
    )
    member_page = contributor_client.get(page_url(target, "section-detail"))
    for shown in (preview.text, member_page.text):
        assert re.search(r"Template error on line 5: [^<]*ci_source", shown)
        assert "Everyone helped." in shown

    public = public_page(client)
    assert "Everyone helped." in public
    assert "Template error" not in public
    assert "ci_source" not in public
    assert "{{" not in public
    assert "Lead:" in public  # the text around the template stays
    assert "Ana Duarte." not in public.split('id="author-contributions"')[1]


def test_a_syntax_error_names_its_line_and_the_section_page_never_fails(
    sample, contributor_client, client, django_capture_on_commit_callbacks
):
    target = section(sample, "competing-interests")
    body = "Intro.\n\n{% for author in manubot.authors %}\n{{ author.name }}\n"
    save(contributor_client, target, body, django_capture_on_commit_callbacks)

    member_page = contributor_client.get(page_url(target, "section-detail"))
    assert member_page.status_code == 200
    assert "Template error on line 4:" in member_page.text
    assert "endfor" in member_page.text  # Jinja2's words: what tag it expected
    public = public_page(client).split('id="competing-interests"')[1]
    assert "Intro." in public
    assert "Template error" not in public
    assert "{%" not in public


def test_changing_an_authors_name_changes_the_rendered_author_line_at_once(
    sample, contributor, contributor_client, client, django_capture_on_commit_callbacks
):
    # Ana signs in as herself: her imported record is now her account's.
    Contributor.objects.filter(user=contributor).delete()
    Contributor.objects.filter(display_name="Ana Duarte").update(user=contributor)
    abstract = section(sample, "abstract")
    abstract_rendered = SectionRender.objects.get(section=abstract).rendered_at
    assert "Ana Duarte<sup>1,2,†</sup>" in public_page(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = contributor_client.post(
            reverse("sections:my-details"),
            {
                "display_name": "Ana M. Duarte",
                "handle": "ana",
                "orcid": "0000-0002-1825-0097",
                "affiliations": "Center for Cell Atlases, Example Institute, "
                "Shelbyville\nDepartment of Genome Sciences, Example University, "
                "Springfield",
            },
        )
    assert response.status_code == 302

    page = public_page(client)
    # Her metadata keys (the † symbol, her COI) follow her under the new name;
    # her affiliations, now in another order, renumber everyone's.
    assert "Ana M. Duarte<sup>1,2,†</sup>," in page
    assert "<td>Ana M. Duarte</td>" in page
    assert re.findall(r"<li>([^<]+)<br></li>", page)[0] == (
        "Center for Cell Atlases, Example Institute, Shelbyville"
    )
    assert "Byung Kim<sup>1</sup>," in page
    assert "Ana Duarte" not in page
    # A section without a template was not rendered again.
    assert SectionRender.objects.get(section=abstract).rendered_at == abstract_rendered


def test_a_script_in_an_authors_metadata_name_is_sanitised_like_any_text(
    db, tmp_path, client, django_capture_on_commit_callbacks
):
    folder = tmp_path / "hostile-sample"
    shutil.copytree(SAMPLE, folder)
    metadata = folder / "content" / "metadata.yaml"
    metadata.write_text(
        metadata.read_text().replace(
            "name: Byung Kim",
            "name: \"Byung <script>alert('x')</script><img src=x onerror=alert(1)>Kim\"",
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_manuscript", str(folder))

    page = public_page(client)
    authors_section = page.split('id="authors"')[1].split("</section>")[0]
    assert "Byung" in authors_section
    assert "Kim<sup>2</sup>" in authors_section
    assert "<script" not in page
    assert not re.search(r"<img[^>]*onerror", page)


def test_citations_a_template_writes_are_cited_and_numbered(
    sample, contributor_client, client, django_capture_on_commit_callbacks
):
    target = section(sample, "author-contributions")
    body = (
        "Tools: {% for doi in ['10.1000/tool.one', '10.1000/tool.two'] %}"
        "[@doi:{{ doi }}]{% if not loop.last %}, {% endif %}{% endfor %}.\n"
    )
    save(contributor_client, target, body, django_capture_on_commit_callbacks)

    keys = set(sample.references.values_list("key", flat=True))
    assert {"doi:10.1000/tool.one", "doi:10.1000/tool.two"} <= keys
    cited = Reference.objects.get(manuscript=sample, key="doi:10.1000/tool.one")
    assert cited.citations.filter(section=target).exists()
    public = public_page(client).split('id="author-contributions"')[1]
    assert re.search(
        r'Tools: <span class="citation">\[<a class="cite[^"]*" href="#ref-\d+">', public
    )


def test_a_todo_note_a_template_writes_is_for_contributors_only(
    sample, contributor_client, client, django_capture_on_commit_callbacks
):
    target = section(sample, "author-contributions")
    body = "Done by {{ manubot.authors|length }} people. TODO: ask Chiara for hers.\n"
    save(contributor_client, target, body, django_capture_on_commit_callbacks)

    member_page = contributor_client.get(page_url(target, "section-detail")).text
    assert "Done by 3 people." in member_page
    assert '<mark class="todo">' in member_page
    public = public_page(client)
    assert "Done by 3 people." in public
    assert "ask Chiara" not in public


HOSTILE = {
    "dunder": "{{ ''.__class__.__mro__ }}",
    "huge range": "{% for i in range(10**9) %}x{% endfor %}",
    "huge string": "{{ 'x' * 10**9 }}",
    "nested loops": "{% for a in range(99999) %}{% for b in range(99999) %}"
    "{% for c in range(99999) %}{% endfor %}{% endfor %}{% endfor %}",
    "loops over text": "{% for a in 'x'*9999 %}{% for b in 'x'*9999 %}"
    "{% endfor %}{% endfor %}",
    "include": "{% include 'settings.py' %}",
    "import": "{% from 'reviewapp/settings.py' import SECRET_KEY %}{{ SECRET_KEY }}",
    "self": "{{ self._TemplateReference__context.parent }}{{ self.__dict__ }}",
    "cycler": "{% set c = cycler(*range(99999)) %}"
    "{% for i in range(99999) %}{{ c.next() }}{% endfor %}",
    "joiner": "{% set j = joiner('x' * 99999) %}{% for i in range(999) %}{{ j() }}{% endfor %}",
    "namespace doubling": "{% set ns = namespace(s='x') %}"
    "{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "nested lists": "{% set ns = namespace(s='x') %}"
    "{% for i in range(64) %}{% set ns.s = [ns.s, ns.s] %}{% endfor %}{{ ns.s }}",
    "lipsum": "{{ lipsum(10**6) }}",
    "format width": "{{ '%999999999s' % 'x' }}{{ '{:>999999999}'.format('x') }}",
    "filter width": "{{ 'x'|center(10**8) }}",
    "recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "big numbers": "{% set ns = namespace(n=7) %}"
    "{% for i in range(64) %}{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n }}",
    "mutation": "{{ manubot.authors.append(1) }}{{ manubot.authors.clear() }}",
    "globals": "{{ cycler.__init__.__globals__.os.environ }}",
}


@pytest.mark.parametrize("template", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_is_stopped_with_a_message(
    sample, contributor_client, template
):
    target = section(sample, "authors")
    started = time.monotonic()
    response = contributor_client.post(
        page_url(target, "section-live-preview"),
        {"title": "Authors", "body": f"Before.\n\n{template}\n\nAfter.\n"},
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < templating.TIME_LIMIT + 4
    text = response.text
    assert "Before." in text
    assert "After." in text
    assert "SECRET_KEY" not in text
    assert "Traceback" not in text
    assert "DATABASE_URL" not in text
    assert "environ" not in text
    assert len(text) < templating.OUTPUT_LIMIT * 2
    assert "Template error" in text
    # Nothing the template did reached the stored variables.
    assert len(templating.variables(sample).values["manubot"]["authors"]) == 3
