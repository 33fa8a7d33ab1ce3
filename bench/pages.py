"""What a browser reads from one of our pages before it posts: the forms with their
fields (hidden ones too: the CSRF token, the editor's base revision), the elements
htmx posts from, and the messages shown. Used by the load benchmark, which drives the
application as a browser does rather than through its Python functions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Inputs whose value a form sends as it is (checkboxes and radios only when checked;
# buttons only as the submitter, which the caller adds). Textareas are read too;
# <select> is not, since none of the forms the benchmark posts has one.
_SENT_AS_IS = {"hidden", "text", "email", "password", "search", "url", "number", "date"}


@dataclass
class Form:
    action: str
    method: str
    id: str = ""
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HxPost:
    """An element htmx posts from: where to, and the headers it adds."""

    id: str
    url: str
    headers: dict[str, str]


@dataclass
class Page:
    forms: list[Form] = field(default_factory=list)
    hx_posts: list[HxPost] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def form(self, id: str) -> Form:
        """The form with this id; KeyError if the page has none."""
        for form in self.forms:
            if form.id == id:
                return form
        raise KeyError(f"no form with id {id!r} on the page")

    def hx_post(self, id: str) -> HxPost:
        """The htmx-posting element with this id; KeyError if the page has none."""
        for element in self.hx_posts:
            if element.id == id:
                return element
        raise KeyError(f"no element posting with htmx with id {id!r} on the page")


def read_page(html: str) -> Page:
    """The forms, htmx posts and messages of an HTML page, as a browser sees them."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser.page


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._form: Form | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._message: list[str] | None = None
        self._in_messages = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if "hx-post" in attributes:
            headers = json.loads(attributes.get("hx-headers") or "{}")
            self.page.hx_posts.append(
                HxPost(attributes.get("id", ""), attributes["hx-post"], headers)
            )
        if tag == "form":
            self._form = Form(
                action=attributes.get("action", ""),
                method=attributes.get("method", "get").lower(),
                id=attributes.get("id", ""),
            )
            self.page.forms.append(self._form)
        elif tag == "input" and self._form is not None and "name" in attributes:
            kind = attributes.get("type", "text").lower()
            if kind in _SENT_AS_IS or (
                kind in {"checkbox", "radio"} and "checked" in attributes
            ):
                value = attributes.get("value", "on" if kind == "checkbox" else "")
                self._form.fields[attributes["name"]] = value
        elif tag == "textarea" and self._form is not None and "name" in attributes:
            self._textarea = (attributes["name"], [])
        elif tag == "ul" and "messages" in attributes.get("class", "").split():
            self._in_messages = True
        elif tag == "li" and self._in_messages:
            self._message = []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)
        if self._message is not None:
            self._message.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            text = "".join(parts)
            # As in a browser: one newline right after <textarea> is not part of the
            # value (Django's widget writes one), so the text goes back unchanged.
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            if self._form is not None:
                self._form.fields[name] = text
            self._textarea = None
        elif tag == "form":
            self._form = None
        elif tag == "li" and self._message is not None:
            self.page.messages.append(" ".join("".join(self._message).split()))
            self._message = None
        elif tag == "ul":
            self._in_messages = False
