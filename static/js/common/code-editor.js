// Code editor: progressive enhancement of <textarea data-code-editor data-language="python|javascript|json">.
//
// The textarea stays the form field: it is hidden, CodeMirror edits its text, and every change is
// written back (with an "input" event) so ordinary form posts and htmx requests send the edited code.
// Without JavaScript the plain textarea works as before.
//
// Keyboard: Tab indents inside the editor; Escape then Tab (or Shift-Tab) moves focus out, as
// CodeMirror's tab-focus mode does; a visible hint under the editor says so.
// Textareas swapped in by htmx are enhanced on htmx:load. Other scripts can call setCode(textarea,
// text) to replace the text of an enhanced (or plain) textarea.

import {
  Compartment,
  EditorState,
  EditorView,
  basicSetup,
  indentUnit,
  indentWithTab,
  javascript,
  keymap,
  python,
} from "../../vendor/codemirror-6.0.2.esm.js";

const LANGUAGES = {
  python: () => python(),
  javascript: () => javascript(),
  json: () => javascript({ jsx: false, typescript: false }),
};
let hintCounter = 0;

// Highlighting plus the indent unit: four spaces in Python (PEP 8), two elsewhere.
function languageOf(name) {
  const known = name in LANGUAGES ? name : "python";
  return [LANGUAGES[known](), indentUnit.of(known === "python" ? "    " : "  ")];
}

function labelText(textarea) {
  const label = textarea.id ? document.querySelector(`label[for="${CSS.escape(textarea.id)}"]`) : null;
  return textarea.getAttribute("aria-label") || (label ? label.textContent.trim() : "Code");
}

/** Enhance one textarea; returns its EditorView (the same one when called twice). */
export function enhance(textarea) {
  if (textarea.codeEditor) return textarea.codeEditor;
  const language = new Compartment();
  const hint = document.createElement("p");
  hint.className = "muted";
  hint.style.fontSize = "0.8rem";
  hint.style.margin = "0.25rem 0 0";
  hint.id = `code-editor-hint-${++hintCounter}`;
  hint.textContent = "Tab indents. To leave the editor with the keyboard, press Escape, then Tab.";
  const described = [textarea.getAttribute("aria-describedby"), hint.id].filter(Boolean).join(" ");
  const rows = Number(textarea.getAttribute("rows")) || 12;

  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup,
        keymap.of([indentWithTab]),
        language.of(languageOf(textarea.dataset.language)),
        EditorState.readOnly.of(textarea.readOnly),
        EditorView.contentAttributes.of({ "aria-label": labelText(textarea), "aria-describedby": described }),
        EditorView.theme({
          "&": {
            minWidth: "0", // in a grid or flex item, long lines scroll instead of widening the page
            maxWidth: "100%",
            border: "1px solid var(--border-strong, #c5cbdb)",
            borderRadius: "var(--radius-sm, 6px)",
            background: "var(--surface, #fff)",
            fontSize: "0.9rem",
          },
          "&.cm-focused": { outline: "2px solid var(--focus, #2563eb)", outlineOffset: "1px" },
          ".cm-scroller": { fontFamily: "var(--font-mono, monospace)", minHeight: `${rows * 1.4}em`, maxHeight: "70vh" },
        }),
        EditorView.updateListener.of((update) => {
          if (!update.docChanged) return;
          textarea.value = update.state.doc.toString();
          textarea.dispatchEvent(new Event("input", { bubbles: true }));
        }),
      ],
    }),
  });
  view.dom.classList.add("code-editor");
  textarea.after(view.dom, hint);
  textarea.style.display = "none";
  textarea.codeEditor = view;
  textarea.codeEditorLanguage = language;

  // A click on the textarea's <label> focuses the editor instead of the hidden field.
  if (textarea.id) {
    for (const label of document.querySelectorAll(`label[for="${CSS.escape(textarea.id)}"]`)) {
      label.addEventListener("click", (event) => {
        event.preventDefault();
        view.focus();
      });
    }
  }
  // A form reset puts the textarea back to its default text; follow it.
  textarea.form?.addEventListener("reset", () => {
    window.setTimeout(() => setCode(textarea, textarea.value), 0);
  });
  return view;
}

/** Replace the text of a textarea, enhanced or not. */
export function setCode(textarea, text) {
  const view = textarea.codeEditor;
  if (!view) {
    textarea.value = text;
    return;
  }
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

/** Switch an enhanced textarea's highlighting (python, javascript or json). */
export function setLanguage(textarea, name) {
  textarea.dataset.language = name;
  if (textarea.codeEditor) {
    textarea.codeEditor.dispatch({ effects: textarea.codeEditorLanguage.reconfigure(languageOf(name)) });
  }
}

export function enhanceAll(root = document) {
  if (root.matches?.("textarea[data-code-editor]")) enhance(root);
  for (const textarea of root.querySelectorAll("textarea[data-code-editor]")) enhance(textarea);
}

enhanceAll();
document.addEventListener("htmx:load", (event) => enhanceAll(event.detail.elt));
