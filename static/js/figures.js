// The editor's figures: an image dropped on or pasted into the text is uploaded
// (the same form and view as without JavaScript) and `![](images/name.png)` goes in
// at the cursor. The plain upload form beside the editor is sent the same way.
(() => {
  "use strict";

  function start() {
    const body = document.getElementById("id_body");
    const form = document.querySelector(".editor form.figure-upload");
    const status = document.getElementById("figure-upload-status");
    if (!body || !form || !status) return;
    const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const fileInput = form.querySelector("input[type=file]");

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("error", Boolean(isError));
    }

    function insertAtCursor(text) {
      const before = body.value.slice(0, body.selectionStart);
      // An image is a paragraph of its own unless the writer put it mid-line.
      const gap = before === "" || before.endsWith("\n") ? "" : "\n\n";
      body.setRangeText(gap + text, body.selectionStart, body.selectionEnd, "end");
      body.focus();
      // The live preview and the kept draft listen for input.
      body.dispatchEvent(new Event("input", { bubbles: true }));
    }

    async function upload(file) {
      say(`Uploading ${file.name}…`);
      const data = new FormData();
      data.append("file", file, file.name || "pasted.png");
      let answer;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        });
        answer = await response.json().catch(() => ({
          error: `The upload failed (the server answered ${response.status}).`,
        }));
      } catch (error) {
        answer = { error: "The upload failed: the server could not be reached." };
      }
      if (answer.error) {
        say(answer.error, true);
        return false;
      }
      insertAtCursor(answer.markdown);
      say(`Added ${answer.path}.`);
      return true;
    }

    async function uploadAll(files) {
      for (const file of files) {
        if (!(await upload(file))) break;
      }
    }

    const imagesIn = (list) => Array.from(list || []).filter((f) => f.type.startsWith("image/"));

    body.addEventListener("paste", (event) => {
      const files = imagesIn(event.clipboardData && event.clipboardData.files);
      if (files.length) {
        event.preventDefault();
        uploadAll(files);
      }
    });
    body.addEventListener("dragover", (event) => {
      if (Array.from(event.dataTransfer.types).includes("Files")) {
        event.preventDefault();
        body.classList.add("drop-target");
      }
    });
    body.addEventListener("dragleave", () => body.classList.remove("drop-target"));
    body.addEventListener("drop", (event) => {
      body.classList.remove("drop-target");
      const files = Array.from(event.dataTransfer.files || []);
      if (files.length) {
        event.preventDefault();
        // Where the image lands: the caret follows the pointer while dragging.
        uploadAll(files);
      }
    });
    form.addEventListener("submit", (event) => {
      if (!fileInput.files.length) return;
      event.preventDefault();
      uploadAll(Array.from(fileInput.files)).then(() => form.reset());
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
