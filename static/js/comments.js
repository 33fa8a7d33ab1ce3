// Comments, enhanced: selecting text in the section fills the new comment's quote.
// Without JavaScript the quote is a plain optional text box; with it, the box stays
// out of the way until a passage is selected. The server matches quotes loosely
// (see sections/comments.py), so citation numbers left in a quote do no harm.
(function () {
  "use strict";
  const article = document.querySelector("article.body");
  if (!article) return;

  // Each paragraph or list item ends a line in the Markdown: keep them apart.
  const BLOCKS = "p, li, h1, h2, h3, h4, h5, h6, blockquote, pre, td, th, dt, dd";

  function quoteField() {
    return document.querySelector("#comment-form [data-quote-field]");
  }

  // Hidden while empty and without an error, a hint in its place; htmx swaps the
  // form in anew after every post, so this runs again then.
  function tuck() {
    const field = quoteField();
    if (!field) return;
    const box = field.querySelector("textarea");
    field.hidden = box.value.trim() === "" && !field.querySelector(".error");
    document.querySelector("#comment-form [data-quote-hint]").hidden = !field.hidden;
  }

  function selectedPassage() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return "";
    const range = selection.getRangeAt(0);
    if (!article.contains(range.commonAncestorContainer)) return "";
    const copy = range.cloneContents();
    // Citation numbers and their pop-up entries are not in the section's text.
    copy.querySelectorAll(".citation, .cite-entry").forEach((node) => node.remove());
    copy.querySelectorAll("br").forEach((node) => node.replaceWith(" "));
    copy.querySelectorAll(BLOCKS).forEach((node) => node.append(" "));
    return copy.textContent
      .replace(/\s+/g, " ")
      .replace(/\s+([.,;:!?)])/g, "$1")
      .trim();
  }

  function takeSelection() {
    const field = quoteField();
    const passage = selectedPassage();
    if (!field || !passage) return;
    field.querySelector("textarea").value = passage;
    field.hidden = false;
    document.querySelector("#comment-form [data-quote-hint]").hidden = true;
  }

  // Mouse and keyboard selections alike; a selection elsewhere is ignored.
  document.addEventListener("selectionchange", takeSelection);
  document.body.addEventListener("htmx:afterSettle", tuck);
  tuck();
})();
