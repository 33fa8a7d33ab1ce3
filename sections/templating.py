"""Manubot's Jinja2 templates in section text, evaluated when a section renders.

Manubot renders every content file with Jinja2 before pandoc sees it, against the
variables `manubot process` builds (`manubot/process/util.py`, `load_variables`):
`pandoc` (title, keywords, lang, date-meta, author-meta), `manubot` (date, authors
with `affiliation_numbers`, numbered `affiliations`, html/pdf URLs, thumbnail URL),
and every other key of `metadata.yaml` at the top level. We build the same from the
manuscript as it is now: the author list from the app (name, ORCID iD, GitHub
handle, affiliations) merged with each author's other keys from the imported
`metadata.yaml` (`Manuscript.metadata`). What Manubot takes from a CI build
(`ci_source`, `html_url_versioned`) stays undefined, so `is defined` is false.

The build date is the day (UTC) a section's template was last evaluated: it is part
of the variables' digest, so the first assembly of a new day evaluates template
sections again, and sections without templates never pay for any of this.

The text keeps the template; only the rendered fragment holds the output. The
environment is Manubot's (comments `{## ##}`, so `{#fig:x}` is text; undefined
variables print nothing; extensions `do` and `loopcontrols`) in Jinja2's immutable
sandbox, with bounds on time, output and the size of any value, and no loader.
"""

from __future__ import annotations

import copy
import ctypes
import datetime
import hashlib
import json
import re
import threading
import traceback
from dataclasses import dataclass, field

import jinja2
from django.utils import timezone
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sections import authors
from sections.models import Manuscript

# A template gets this long (seconds, wall clock) to render.
TIME_LIMIT = 1.0
# Output a template may produce, and the size of any value it builds on the way.
OUTPUT_LIMIT = 256 * 1024
VALUE_LIMIT = 1024 * 1024
# Numbers given to filters and methods (widths, counts, lengths) stay below this.
NUMBER_LIMIT = 100_000
# Enough for any real range; a template looping past it is stopped.
RANGE_LIMIT = 100_000
# Compiled templates each thread keeps, by text.
COMPILED_KEPT = 64

# The one-line test that keeps sections without templates off this path.
TEMPLATE_MARKS = ("{{", "{%", "{##")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip
# metadata.yaml keys Manubot interprets; every other key is a top-level variable.
INTERPRETED = {
    "pandoc", "manubot", "title", "keywords", "lang", "authors", "author_info",
    "thumbnail", "html_url",
}  # fmt: skip
# A %-format width or precision this long would build a huge string.
WIDE_FORMAT = re.compile(r"%[-#0 +]*(\*|\d{6,})|%[-#0 +]*\d*\.(\*|\d{6,})")
BLOCK_TAGS = {
    "for", "if", "macro", "call", "filter", "block", "with", "raw", "autoescape",
    "trans",
}  # fmt: skip


def has_template(text: str) -> bool:
    """Whether the text holds any Jinja2 construct (a fast test, no parsing)."""
    return any(mark in text for mark in TEMPLATE_MARKS)


@dataclass(frozen=True)
class Variables:
    """What templates see, and a digest of it for fragments' input hashes."""

    values: dict
    digest: str


@dataclass(frozen=True)
class Evaluated:
    """A section's text after its template ran; on an error, the text without the
    template's parts and a message for contributors."""

    text: str
    error: str = ""
    digest: str = ""
    notice: list = field(default_factory=list)


def variables(
    manuscript: Manuscript,
    *,
    today: datetime.date | None = None,
    byline: list[dict] | None = None,
) -> Variables:
    """The variables Manubot would build for the manuscript as it is now (`byline`:
    its `authors.byline`, when the caller has read it already)."""
    today = today or timezone.now().astimezone(datetime.UTC).date()
    metadata = copy.deepcopy(manuscript.metadata or {})
    pandoc: dict = {}
    for key in ("title", "keywords", "lang"):
        if key in metadata:
            pandoc[key] = metadata.pop(key)
    pandoc["title"] = manuscript.title  # renamed in the app: the app's title
    pandoc["date-meta"] = today.isoformat()
    listed = metadata.pop("authors", None) or metadata.pop("author_info", None) or []
    if byline is None:
        byline = authors.byline(manuscript)
    merged = _merged_authors(byline, listed)
    pandoc["author-meta"] = [author["name"] for author in merged]
    manubot: dict = {
        "date": f"{MONTHS[today.month - 1]} {today.day}, {today.year}",
        "authors": merged,
    }
    _number_affiliations(manubot)
    html_url = metadata.pop("html_url", None)
    if isinstance(html_url, str) and html_url:
        manubot["html_url"] = html_url
        manubot["pdf_url"] = html_url.rstrip("/") + "/manuscript.pdf"
    thumbnail = metadata.pop("thumbnail", None)
    # A local path becomes a URL only from a CI build's repository, as in Manubot.
    if isinstance(thumbnail, str) and re.match(r"https?://", thumbnail):
        manubot["thumbnail_url"] = thumbnail
    for key, target in (("pandoc", pandoc), ("manubot", manubot)):
        extra = metadata.pop(key, None)
        if isinstance(extra, dict):
            target.update(extra)
    values = {"pandoc": pandoc, "manubot": manubot}
    values.update({k: v for k, v in metadata.items() if k not in INTERPRETED})
    digest = hashlib.sha256(
        json.dumps(values, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()
    return Variables(values=values, digest=digest)


def _merged_authors(byline: list[dict], listed: list) -> list[dict]:
    """The app's authors in the app's order, each with the other keys its
    metadata.yaml entry had (found by ORCID iD, GitHub handle, name, or else the same
    place in the list). The app decides name, ORCID iD and affiliations."""
    entries = [entry for entry in listed if isinstance(entry, dict)]
    unused = list(range(len(entries)))

    def take(index: int) -> dict:
        unused.remove(index)
        return entries[index]

    def find(person: dict, place: int) -> dict:
        for key in ("orcid", "github", "name"):
            wanted = str(person.get(key) or "").casefold()
            for index in unused:
                if wanted and str(entries[index].get(key) or "").casefold() == wanted:
                    return take(index)
        return take(place) if place in unused else {}

    merged = []
    for place, person in enumerate(byline):
        author = copy.deepcopy(find(person, place))
        author.pop("affiliation_numbers", None)
        author["name"] = person["name"]
        for key in ("orcid", "affiliations"):
            if person.get(key):
                author[key] = person[key]
            else:
                author.pop(key, None)
        if person.get("github"):
            author["github"] = person["github"]
        merged.append(author)
    return merged


def _number_affiliations(manubot: dict) -> None:
    """Manubot's `add_author_affiliations`: each author's `affiliation_numbers`, and
    `affiliations` listing each distinct one once, numbered in order of appearance."""
    everyone: list[str] = []
    for author in manubot["authors"]:
        for key, separator in (("affiliations", "; "), ("funders", None)):
            value = author.get(key)
            if isinstance(value, str):
                author[key] = value.split(separator) if separator else [value]
        everyone.extend(author.get("affiliations", []))
    if not everyone:
        return
    numbers = {
        affiliation: n for n, affiliation in enumerate(dict.fromkeys(everyone), 1)
    }
    for author in manubot["authors"]:
        author["affiliation_numbers"] = sorted(
            numbers[affiliation] for affiliation in author.get("affiliations", [])
        )
    manubot["affiliations"] = [
        {"affiliation": affiliation, "affiliation_number": n}
        for affiliation, n in numbers.items()
    ]


def evaluate(text: str, given: Variables | None) -> Evaluated:
    """The text with its template rendered against the variables. None (the caller
    found no template) leaves it as it is. An error (syntax, runtime, a limit) gives
    the text without the template's parts, and a message naming the line."""
    if given is None or not has_template(text):
        return Evaluated(text=text)
    try:
        output = _render(text, given.values)
    except Exception as error:  # anything a template does wrong is the writer's
        message = _message(error)
        return Evaluated(
            text=without_template(text),
            error=message,
            digest=given.digest,
            notice=notice(message),
        )
    return Evaluated(text=output, digest=given.digest)


def citable_text(section) -> str:
    """The text whose citations count: a template's output (what Manubot cites);
    the text as written when it has none; the text around it when it fails."""
    if not has_template(section.body):
        return section.body
    evaluated = evaluate(section.body, variables(section.manuscript))
    return evaluated.text


class TemplateLimit(Exception):
    """A template went past a bound on time, output or the size of a value."""


class _OutOfTime(TemplateLimit):
    def __init__(self) -> None:
        super().__init__(f"the template ran longer than {TIME_LIMIT:g} s")


class _BoundedCodeGenerator(CodeGenerator):
    """Joins with `~` go through the environment, which refuses huge results."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_join((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with bounded arithmetic, filters, calls and ranges."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            loader=jinja2.BaseLoader(),  # includes, imports, extends: not found
            autoescape=False,
            comment_start_string="{##",
            comment_end_string="##}",
            extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
            finalize=_printable,  # each {{ value }}, before it becomes text
        )
        self.globals.pop("lipsum", None)
        self.globals["range"] = _bounded_range
        self.filters = {
            name: _bounded_filter(function, name=name)
            for name, function in self.filters.items()
        }

    def bounded_join(self, values) -> str:
        joined = "".join(str(_printable(value)) for value in values)
        _check_size(joined)
        return joined

    def call_binop(self, context, operator: str, left, right):
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    _check_length(len(sequence) * times)
            if isinstance(left, int) and isinstance(right, int):
                _check_bits(left.bit_length() + right.bit_length())
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                _check_bits(max(left.bit_length(), 1) * right)
        elif operator == "+":
            if isinstance(left, str | list | tuple) and hasattr(right, "__len__"):
                _check_length(len(left) + len(right))
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
            _printable(right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's names)
        # The sandbox hands out str.format wrapped: its width specs build huge text.
        method = getattr(__obj, "__wrapped__", __obj)
        if getattr(method, "__name__", "") in {"format", "format_map"} and isinstance(
            getattr(method, "__self__", None), str
        ):
            raise SecurityError("str.format is not available in templates")
        _check_numbers(args, kwargs)
        for value in (*args, *kwargs.values()):
            _printable(value)
        result = super().call(__context, __obj, *args, **kwargs)
        _check_size(result)
        return result


def _bounded_range(*args):
    _check_numbers(args, {})
    numbers = range(*args)
    if len(numbers) > RANGE_LIMIT:
        raise TemplateLimit(f"range() is limited to {RANGE_LIMIT:,} numbers")
    return numbers


def _bounded_filter(function, *, name: str):
    # Filters Jinja passes the context or environment to get the value second.
    value_at = 1 if hasattr(function, "jinja_pass_arg") else 0

    def bounded(*args, **kwargs):
        _check_numbers(args[value_at + 1 :], kwargs)
        for value in (*args[value_at:], *kwargs.values()):
            _printable(value)
        if name == "format":
            for value in (*args, *kwargs.values()):
                if isinstance(value, str):
                    _check_format(value)
        result = function(*args, **kwargs)
        _check_size(result)
        return result

    if value_at:
        bounded.jinja_pass_arg = function.jinja_pass_arg
    return bounded


def _printable(value):
    """The value, if its text stays under VALUE_LIMIT: lists that hold one list
    twice, nested deep, are small in memory and endless as text."""
    budget, stack = VALUE_LIMIT, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            budget -= len(item)
        elif isinstance(item, dict):
            budget -= 2 * len(item) + 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            budget -= len(item) + 1
            stack.extend(item)
        else:
            budget -= 1
        if budget < 0:
            _check_length(VALUE_LIMIT + 1)
    return value


def _check_numbers(args, kwargs) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and abs(value) > NUMBER_LIMIT:
            raise TemplateLimit(f"numbers given to a call stay below {NUMBER_LIMIT:,}")


def _check_size(value) -> None:
    if isinstance(value, str | list | tuple | dict) and len(value) > VALUE_LIMIT:
        _check_length(len(value))


def _check_length(length: int) -> None:
    if length > VALUE_LIMIT:
        raise TemplateLimit(f"a value grew past {VALUE_LIMIT // 1024:,} KB")


def _check_bits(bits: int) -> None:
    if bits > 4096:
        raise TemplateLimit("a number grew past 4,096 bits")


def _check_format(text: str) -> None:
    if WIDE_FORMAT.search(text):
        raise TemplateLimit(f"a format width stays below {NUMBER_LIMIT:,}")


_environment = threading.local()


def _sandbox() -> _BoundedSandbox:
    if not hasattr(_environment, "sandbox"):
        _environment.sandbox = _BoundedSandbox()
    return _environment.sandbox


def _compiled(text: str) -> jinja2.Template:
    """The text compiled by this thread's sandbox; compiling costs more than
    rendering, and assembly evaluates the same sections again when authors change."""
    sandbox = _sandbox()
    kept = sandbox.__dict__.setdefault("compiled", {})
    template = kept.get(text)
    if template is None:
        if len(kept) >= COMPILED_KEPT:
            kept.clear()
        template = kept[text] = sandbox.from_string(text)
    return template


def _render(text: str, values: dict) -> str:
    """The template's output; raises what the template did wrong, or TemplateLimit."""
    template = _compiled(text)
    with _deadline():
        pieces, size = [], 0
        for piece in template.generate(**values):
            size += len(piece)
            if size > OUTPUT_LIMIT:
                raise TemplateLimit(f"the output grew past {OUTPUT_LIMIT // 1024:,} KB")
            pieces.append(piece)
    return "".join(pieces)


class _deadline:  # noqa: N801 (used as a context manager)
    """Stop this thread's template after TIME_LIMIT: a timer raises _OutOfTime in
    it (between two bytecodes), unless the render ended first."""

    def __enter__(self) -> None:
        self.thread = threading.get_ident()
        self.lock = threading.Lock()
        self.running = True
        self.timer = threading.Timer(TIME_LIMIT, self._stop)
        self.timer.daemon = True
        self.timer.start()

    def _stop(self) -> None:
        with self.lock:
            if self.running:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.thread), ctypes.py_object(_OutOfTime)
                )

    def __exit__(self, *exc) -> None:
        with self.lock:
            self.running = False
        self.timer.cancel()


def _message(error: Exception) -> str:
    """What went wrong, where, in words a writer can act on."""
    line = getattr(error, "lineno", None) or _template_line(error)
    if isinstance(error, jinja2.TemplateNotFound):
        what = "templates cannot include, import or extend other files"
    elif isinstance(error, jinja2.TemplateSyntaxError):
        what = error.message or "syntax error"
    elif isinstance(error, TemplateLimit):
        what = str(error)
    elif isinstance(error, SecurityError):
        what = f"not allowed: {error}"
    elif isinstance(error, RecursionError):
        what = "the template calls itself without end"
    else:
        what = str(error) or type(error).__name__
    where = f" on line {line}" if line else ""
    return f"Template error{where}: {what[:300]}"


def _template_line(error: BaseException) -> int | None:
    """The template line the error came from (Jinja maps its frames to them)."""
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename == "<template>"
    ]
    return lines[-1] if lines else None


def notice(message: str) -> list[dict]:
    """The message as tokens for the contributors' stream (escaped by the serializer)."""
    return [
        {
            "type": "StartTag",
            "name": "div",
            "namespace": None,
            "data": {(None, "class"): "template-error"},
        },
        {"type": "Characters", "data": message},
        {"type": "EndTag", "name": "div", "namespace": None},
    ]


def without_template(text: str) -> str:
    """The text with every template part left out: tags, expressions, comments and
    whatever a block tag (for, if, ...) holds. After a syntax error the rest goes."""
    kept, depth = [], 0
    stream = _sandbox().lex(text)
    try:
        expect_tag = False
        for _, kind, value in stream:
            if kind == "data" and depth == 0:
                kept.append(value)
            elif kind == "block_begin":
                expect_tag = True
            elif kind == "name" and expect_tag:
                expect_tag = False
                if value in BLOCK_TAGS:
                    depth += 1
                elif value.startswith("end") and value[3:] in BLOCK_TAGS:
                    depth = max(depth - 1, 0)
    except jinja2.TemplateSyntaxError:
        pass
    return "".join(kept)
