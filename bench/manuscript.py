"""A Manubot `content/` folder of a real manuscript's shape, made up but deterministic.

    .venv/bin/python -m bench.manuscript /tmp/real-shaped     # writes /tmp/real-shaped/content

The shape is the finished deep-review's (issue 13): 10 content files, about 80 sections
and 290 KB of Markdown, 850 citations of 615 works (DOI, PubMed, arXiv, URL and tag
keys), 355 tag definitions in the back matter, figures referenced from `images/`,
Jinja2 templates in the front matter (`tests/fixtures/manubot-sample/` is the model),
7 authors with v1/v2/coi metadata, a `manual-references.json` keyed by citekey and a
snapshot `manual-references-2020-01-29.json` of more than 1,600 items carrying their
citekey on a `standard_id:` line of `note`, of which about 1,000 nobody cites.

Seeded (`--seed`), no network: the same seed gives the same bytes. `shape()` counts
what a folder holds, as the benchmark and a test report it.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import yaml

SNAPSHOT = "manual-references-2020-01-29.json"
MANUAL = "manual-references.json"
# Works cited, by how they are cited; tags stand for DOIs (as most of deep-review's do).
CITED_WORKS = {"doi": 300, "tag": 240, "pmid": 40, "arxiv": 20, "url": 15}
TAG_DEFINITIONS = 355  # 240 cited, the rest defined and never cited
CITATIONS = 850
UNCITED_SNAPSHOT_ITEMS = 1000
MANUAL_ITEMS = 36
# Content files after the front matter and abstract, with their sections.
MAIN_FILES = [
    "introduction",
    "categorize",
    "study",
    "treat",
    "discussion",
    "conclusions",
    "methods",
]
SECTIONS_PER_FILE = [12, 12, 12, 12, 12, 8, 9]
TARGET_BYTES = 290_000
FIGURES = 8
AUTHORS = 7

SYLLABLES = (
    "ge no mi cro bi al ce lu lar pro te in se quen cing ex pres sion mo del net work "
    "da ta deep lear ning clas si fi ca tion dis ea se pa tient i ma ging va ri ant "
    "struc tu re func tion path way drug tar get bio mar ker tis sue"
).split()


@dataclass(frozen=True)
class Shape:
    files: int
    sections: int
    kilobytes: int
    citations: int
    works: int
    tag_definitions: int
    snapshot_items: int
    uncited_snapshot_items: int
    figures: int
    images: int
    authors: int


def generate(folder: Path, *, seed: int = 13) -> Path:
    """Write `folder/content` (replacing what a previous run wrote); returns it."""
    rng = random.Random(seed)
    content = folder / "content"
    (content / "images").mkdir(parents=True, exist_ok=True)
    for old in content.glob("*.md"):
        old.unlink()
    words = _vocabulary(rng)
    works = _works(rng)
    cited = _citation_sequence(rng, works)
    (content / "metadata.yaml").write_text(_metadata(rng), encoding="utf-8")
    (content / "00.front-matter.md").write_text(FRONT_MATTER, encoding="utf-8")
    (content / "01.abstract.md").write_text(
        "## Abstract {.page_break_before}\n\n"
        + _paragraph(rng, words, cited, sentences=9)
        + "\n",
        encoding="utf-8",
    )
    sections = sum(SECTIONS_PER_FILE)
    per_section = (TARGET_BYTES - 60_000) // sections  # the back matter's tags aside
    figures = iter(range(1, FIGURES + 1))
    last = content
    for number, (name, count) in enumerate(
        zip(MAIN_FILES, SECTIONS_PER_FILE, strict=True), start=2
    ):
        parts = []
        for index in range(count):
            level = "##" if index == 0 else "###"
            parts.append(f"{level} {_title(rng, words)}\n")
            figure = next(figures, None) if index in (3, 8) else None
            parts.append(
                _section_text(
                    rng, words, cited, size=per_section, figure=figure, table=index == 5
                )
            )
        last = content / f"{number:02d}.{name}.md"
        last.write_text("\n".join(parts), encoding="utf-8")
    # Whatever citations are left go in the discussion's last paragraphs.
    if cited:
        leftover = "\n\n".join(
            _sentence(rng, words)
            + f" [{'; '.join('@' + k for k in cited[i : i + 3])}]."
            for i in range(0, len(cited), 3)
        )
        with last.open("a", encoding="utf-8") as methods:
            methods.write("\n" + leftover + "\n")
        cited.clear()
    (content / "90.back-matter.md").write_text(_back_matter(works), encoding="utf-8")
    (content / SNAPSHOT).write_text(_snapshot(rng, works), encoding="utf-8")
    (content / MANUAL).write_text(_manual(rng, works), encoding="utf-8")
    for n in range(1, FIGURES + 1):
        (content / "images" / f"figure-{n}.png").write_bytes(_png(rng))
    (content / "images" / "orcid.svg").write_text(ORCID_SVG, encoding="utf-8")
    return content


def shape(content: Path) -> Shape:
    """What a generated folder holds, counted from its files."""
    texts = {
        p.name: p.read_text(encoding="utf-8") for p in sorted(content.glob("*.md"))
    }
    text = "\n".join(texts.values())
    keys = [
        key
        for group in re.findall(r"\[(@[^\]]+)\](?!:)", text)
        for key in re.findall(r"@([^\s;\]]+)", group)
    ]
    snapshot = json.loads((content / SNAPSHOT).read_text(encoding="utf-8"))
    cited = {k.lower() for k in keys if not k.startswith(("fig:", "tbl:", "eq:"))}
    tags = {
        tag.lower(): target.lower()
        for tag, target in re.findall(r"^\[@(tag:[^\]]+)\]: (\S+)$", text, re.MULTILINE)
    }
    cited_ids = {tags.get(k, k).lower() for k in cited}
    standard = [re.search(r"standard_id: (\S+)", i["note"]).group(1) for i in snapshot]
    metadata = yaml.safe_load((content / "metadata.yaml").read_text(encoding="utf-8"))
    return Shape(
        files=len(texts),
        sections=len(re.findall(r"^#{2,3} ", text, re.MULTILINE)),
        kilobytes=round(len(text.encode()) / 1000),
        citations=sum(1 for k in keys if not k.startswith(("fig:", "tbl:", "eq:"))),
        works=len(cited),
        tag_definitions=len(tags),
        snapshot_items=len(snapshot),
        uncited_snapshot_items=sum(1 for s in standard if s.lower() not in cited_ids),
        figures=len(re.findall(r"\{#fig:", text)),
        images=len(list((content / "images").iterdir())),
        authors=len(metadata["authors"]),
    )


def _vocabulary(rng: random.Random) -> list[str]:
    return sorted(
        {
            "".join(rng.choice(SYLLABLES) for _ in range(rng.choice([1, 2, 2, 3])))
            for _ in range(900)
        }
    )


def _works(rng: random.Random) -> dict[str, list[str]]:
    """Cited keys by kind; tags name the DOI they stand for in `tag_targets`."""
    works: dict[str, list[str]] = {}
    works["doi"] = [f"doi:10.{1000 + n % 900}/j.bench.{n:05d}" for n in range(300)]
    works["pmid"] = [f"pmid:{20000000 + n * 7919}" for n in range(CITED_WORKS["pmid"])]
    works["arxiv"] = [
        f"arxiv:{1500 + n // 12}.{n * 37 % 10000:05d}"
        for n in range(CITED_WORKS["arxiv"])
    ]
    works["url"] = [
        f"url:https://example.org/tools/{n}/readme" for n in range(CITED_WORKS["url"])
    ]
    works["tag"] = [f"tag:Study{n:03d}" for n in range(TAG_DEFINITIONS)]
    works["tag target"] = [
        f"doi:10.{2000 + n % 500}/j.tagged.{n:05d}" for n in range(TAG_DEFINITIONS)
    ]
    works["uncited"] = [
        f"doi:10.{3000 + n % 700}/j.uncited.{n:05d}"
        for n in range(UNCITED_SNAPSHOT_ITEMS)
    ]
    return works


def _citation_sequence(rng: random.Random, works: dict[str, list[str]]) -> list[str]:
    """850 citations: each of the 615 cited works once, the rest cited again."""
    once = [key for kind, count in CITED_WORKS.items() for key in works[kind][:count]]
    again = [rng.choice(once) for _ in range(CITATIONS - len(once))]
    sequence = once + again
    rng.shuffle(sequence)
    return sequence


def _title(rng: random.Random, words: list[str]) -> str:
    return " ".join(rng.choice(words) for _ in range(rng.randint(2, 5))).capitalize()


def _sentence(rng: random.Random, words: list[str]) -> str:
    return " ".join(rng.choice(words) for _ in range(rng.randint(8, 24))).capitalize()


def _paragraph(rng, words, cited: list[str], *, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        sentence = _sentence(rng, words)
        if cited and rng.random() < 0.25:
            group = [
                cited.pop() for _ in range(min(len(cited), rng.choice([1, 1, 2, 3])))
            ]
            sentence += " [" + "; ".join("@" + key for key in group) + "]"
        out.append(sentence + ".")
    return " ".join(out)


def _section_text(rng, words, cited, *, size: int, figure: int | None, table: bool):
    parts: list[str] = []
    if figure:
        parts.append(
            f"Figure @fig:figure-{figure} summarises the studies of this part, "
            f"and the inline measure $r^2$ compares them.\n"
        )
        parts.append(
            f"![{_sentence(rng, words)}.](images/figure-{figure}.png)"
            f'{{#fig:figure-{figure} width="80%"}}\n'
        )
    if table:
        parts.append("Table @tbl:glossary lists the terms.\n")
        rows = "\n".join(
            f"| {rng.choice(words)} | {_sentence(rng, words)} |" for _ in range(6)
        )
        parts.append(
            f"| Term | Meaning |\n|---|---|\n{rows}\n\nTable: Glossary. {{#tbl:glossary}}\n"
        )
    while sum(len(p) for p in parts) < size:
        parts.append(_paragraph(rng, words, cited, sentences=rng.randint(3, 8)) + "\n")
    return "\n".join(parts)


def _back_matter(works: dict[str, list[str]]) -> str:
    definitions = "\n".join(
        f"[@{tag}]: {target}"
        for tag, target in zip(works["tag"], works["tag target"], strict=True)
    )
    return (
        "## References {.page_break_before}\n\n"
        "<!-- Explicitly insert bibliography here -->\n"
        '<div id="refs"></div>\n\n' + definitions + "\n"
    )


def _csl(rng: random.Random, standard_id: str, n: int) -> dict:
    kind, _, value = standard_id.partition(":")
    item = {
        "id": "".join(
            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789")
            for _ in range(9)
        ),
        "type": "webpage" if kind == "url" else "article-journal",
        "title": f"Study {n} of learned representations in biomedicine",
        "container-title": rng.choice(
            ["Nature", "Bioinformatics", "PLoS Comput Biol", "Cell"]
        ),
        "volume": str(rng.randint(1, 60)),
        "page": f"{rng.randint(1, 900)}-{rng.randint(901, 999)}",
        "author": [
            {
                "family": f"Author{rng.randint(1, 5000)}",
                "given": rng.choice("ABCDEFGH") + ".",
            }
            for _ in range(rng.randint(1, 6))
        ],
        "issued": {"date-parts": [[rng.randint(1995, 2020), rng.randint(1, 12)]]},
        "note": "This CSL JSON Item was automatically generated by Manubot v0.3.1 using "
        f"citation-by-identifier.\nstandard_id: {standard_id}",
    }
    if kind == "doi":
        item["DOI"] = value
    elif kind == "pmid":
        item["PMID"] = value
    elif kind == "url":
        item["URL"] = value
    return item


def _snapshot(rng: random.Random, works: dict[str, list[str]]) -> str:
    """Cited works (all but a few URLs) and 1,000 works nobody cites, shuffled."""
    ids = (
        works["doi"]
        + works["pmid"]
        + works["arxiv"]
        + works["url"][:5]
        + works["tag target"]
        + works["uncited"]
    )
    rng.shuffle(ids)
    items = [_csl(rng, standard_id, n) for n, standard_id in enumerate(ids)]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def _manual(rng: random.Random, works: dict[str, list[str]]) -> str:
    keys = works["url"][5:] + works["doi"][: MANUAL_ITEMS - len(works["url"][5:])]
    items = []
    for n, key in enumerate(keys):
        item = _csl(rng, key, 9000 + n)
        item["id"] = key
        del item["note"]
        items.append(item)
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def _metadata(rng: random.Random) -> str:
    affiliations = [
        f"Department of {name}, Example University, Springfield"
        for name in ["Genome Sciences", "Statistics", "Medicine", "Computer Science"]
    ]
    authors = []
    for n in range(AUTHORS):
        author = {
            "github": f"author{n}",
            "name": f"Author Number{n}",
            "initials": f"A{n}",
            "orcid": f"0000-0002-{1000 + n:04d}-{2000 + n * 3:04d}",
            "email": f"author{n}@example.org",
            "affiliations": rng.sample(affiliations, rng.randint(1, 2)),
            "v1": rng.choice(["Wrote the first draft", "Reviewed the text", ""]),
            "v2": rng.choice(
                ["Drafted one or more subsections", "Edited the text", ""]
            ),
            "coi": {
                "string": rng.choice(["None", "Consults for Example Inc."]),
                "lastapproved": f"2020-03-{n + 1:02d}",
            },
        }
        if n == 0:
            author["symbol_str"] = "†"
        authors.append(author)
    metadata = {
        "title": "A real-shaped review: opportunities and obstacles [benchmark]",
        "keywords": ["deep learning", "biomedicine", "review"],
        "lang": "en-US",
        "authors": authors,
    }
    return yaml.safe_dump(metadata, allow_unicode=True, sort_keys=False)


def _png(rng: random.Random, width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    colour = bytes(rng.randrange(256) for _ in range(3))
    rows = b"".join(b"\0" + colour * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


ORCID_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<circle cx="8" cy="8" r="8" fill="#a6ce39"/></svg>\n'
)

FRONT_MATTER = """\
{##
  Jinja2 front-matter template, as Manubot manuscripts carry it.
##}

[
[]{.fas .fa-info-circle .fa-lg} **Benchmark notice**<br>
This manuscript is generated for a benchmark; its text means nothing.
]{.banner .lightred}

<small><em>
This manuscript
{% if manubot.html_url_versioned is defined -%}
([permalink]({{manubot.html_url_versioned}}))
{% endif -%}
was automatically generated
{% if manubot.ci_source is defined -%}
from [{{manubot.ci_source.repo_slug}}@{{manubot.ci_source.commit | truncate(length=7, end='', leeway=0)}}](https://github.com/{{manubot.ci_source.repo_slug}}/tree/{{manubot.ci_source.commit}})
{% endif -%}
on {{manubot.date}}.
</em></small>

## Authors

{% for author in manubot.authors %}
  {% if author.orcid is defined -%}
  [![ORCID icon](images/orcid.svg){height="11px" width="11px"}](https://orcid.org/{{author.orcid}})
  {%- endif %}
  {{author.name}}<sup>{{author.affiliation_numbers | join(',')}}{%- if author.symbol_str is defined -%},{{author.symbol_str}}{%- endif -%}</sup>
  {%- if not loop.last -%}, {%- endif -%}
{% endfor %}

<small>

{% for affiliation in manubot.affiliations %}
{{affiliation.affiliation_number}}. {{affiliation.affiliation}}<br>
{%- endfor %}

</small>

{% for v2, group in manubot.authors | groupby('v2') %}{% if v2 %}{{ group | map(attribute='name') | join(', ') }}: {{ v2 }}. {% endif %}{% endfor %}

| Author | Competing interests | Last approved |
|---|---|---|
{% for author in manubot.authors -%}
| {{ author.name }} | {{ author.coi.string }} | {{ author.coi.lastapproved }} |
{% endfor %}
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.manuscript", description=__doc__
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=13)
    options = parser.parse_args()
    content = generate(options.folder, seed=options.seed)
    print(f"{content}: {shape(content)}")


if __name__ == "__main__":
    main()
