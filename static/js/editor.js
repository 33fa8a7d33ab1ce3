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
  form.addEventListener("submit", function (event) {
    submitting = true;
    // A save clears the draft only once the server answered with the section page;
    // a conflict or an error page shows the text again, and the draft stays.
    if (event.submitter && event.submitter.name === "save") {
      sessionStorage.setItem("reviewapp-saving", key);
    }
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

// On the page a save leads to, the draft that was saved is no longer needed.
(function () {
  "use strict";
  const saving = sessionStorage.getItem("reviewapp-saving");
  if (saving && !document.querySelector(".editor")) {
    localStorage.removeItem(saving);
    sessionStorage.removeItem("reviewapp-saving");
  }
})();
