// The section editor, enhanced: drafts kept in this browser until saved, a warning
// before leaving unsaved changes, and the citation helper's key inserted at the cursor.
// Without JavaScript the page is a plain form and all of this is simply absent.
(function () {
  "use strict";
  const editor = document.querySelector(".editor[data-draft-key]");
  if (!editor) return;
  const form = document.getElementById("edit-form");
  const title = form.querySelector("[name=title]");
  const body = form.querySelector("[name=body]");
  const base = form.querySelector("[name=base]");
  const key = editor.dataset.draftKey;
  const saved = { title: title.value, body: body.value };
  let submitting = false;

  function isDirty() {
    return title.value !== saved.title || body.value !== saved.body;
  }

  function readDraft() {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  // Every keystroke is kept, so a closed tab or a crashed browser loses nothing.
  function keepDraft() {
    if (!isDirty()) {
      localStorage.removeItem(key);
      return;
    }
    localStorage.setItem(
      key,
      JSON.stringify({ title: title.value, body: body.value, base: base.value, at: Date.now() })
    );
  }

  const draft = readDraft();
  const notice = editor.querySelector(".draft-notice");
  if (draft && (draft.body !== body.value || draft.title !== title.value)) {
    notice.hidden = false;
    notice.querySelector("[data-draft-restore]").addEventListener("click", function () {
      title.value = draft.title;
      body.value = draft.body;
      // The draft started from an older revision: saving it merges or reports a
      // conflict instead of overwriting what was saved since.
      if (draft.base) base.value = draft.base;
      notice.hidden = true;
      body.dispatchEvent(new Event("input", { bubbles: true }));
    });
    notice.querySelector("[data-draft-discard]").addEventListener("click", function () {
      localStorage.removeItem(key);
      notice.hidden = true;
    });
  }

  title.addEventListener("input", keepDraft);
  body.addEventListener("input", keepDraft);
  form.addEventListener("submit", function () {
    submitting = true;
  });
  window.addEventListener("beforeunload", function (event) {
    if (!submitting && isDirty()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  const insert = editor.querySelector("[data-insert-citation]");
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "cite-result") {
      insert.hidden = !document.getElementById("citation-text");
    }
  });
  insert.addEventListener("click", function () {
    const field = document.getElementById("citation-text");
    if (!field) return;
    const start = body.selectionStart;
    const end = body.selectionEnd;
    body.value = body.value.slice(0, start) + field.value + body.value.slice(end);
    body.selectionStart = body.selectionEnd = start + field.value.length;
    body.focus();
    body.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();

// A kept draft goes only when the server says its section was saved (the message it
// sends after a save carries "draft-saved-<section>"): a conflict, an error, an
// expired session or a click elsewhere all leave the draft where it is.
(function () {
  "use strict";
  for (const message of document.querySelectorAll(".message")) {
    const saved = /\bdraft-saved-(\d+)\b/.exec(message.className);
    if (saved) localStorage.removeItem("reviewapp-draft-" + saved[1]);
  }
})();
