// Copy-to-clipboard buttons.
//
// - Any <button data-copy-target="#some-id"> copies the text of that element (the value of an
//   input or textarea) when clicked, then shows "Copied" for two seconds.
// - Every <pre> inside an element marked [data-copy-blocks] (lesson bodies) gets such a button.
// Results are announced to screen readers through one shared aria-live region. Clicks are
// delegated from the document, so buttons swapped in by htmx work without re-binding.

const RESET_AFTER_MS = 2000;
let liveRegion = null;
let blockCounter = 0;

function announce(text) {
  if (!liveRegion) {
    liveRegion = document.createElement("div");
    liveRegion.className = "visually-hidden";
    liveRegion.setAttribute("aria-live", "polite");
    document.body.append(liveRegion);
  }
  // Clear first so that the same message twice in a row is announced twice.
  liveRegion.textContent = "";
  window.setTimeout(() => {
    liveRegion.textContent = text;
  }, 50);
}

function textOf(element) {
  if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement) {
    return element.value;
  }
  return element.textContent.replace(/\n$/, "");
}

async function writeClipboard(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // The Clipboard API needs a secure context (https or localhost); a lab server reached over plain
  // http by IP address is not one, so fall back to the older selection-based copy.
  const scratch = document.createElement("textarea");
  scratch.value = text;
  scratch.setAttribute("readonly", "");
  scratch.style.position = "fixed";
  scratch.style.opacity = "0";
  document.body.append(scratch);
  scratch.select();
  const copied = document.execCommand("copy");
  scratch.remove();
  if (!copied) {
    throw new Error("copy command refused");
  }
}

function selectContents(element) {
  if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement) {
    element.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

function flash(button, label, className) {
  if (!button.dataset.copyLabel) {
    button.dataset.copyLabel = button.textContent;
  }
  button.textContent = label;
  button.classList.add(className);
  window.clearTimeout(Number(button.dataset.copyTimer));
  button.dataset.copyTimer = String(
    window.setTimeout(() => {
      button.textContent = button.dataset.copyLabel;
      button.classList.remove(className);
    }, RESET_AFTER_MS),
  );
}

async function onClick(event) {
  const button = event.target.closest("[data-copy-target]");
  if (!button) {
    return;
  }
  const target = document.querySelector(button.dataset.copyTarget);
  if (!target) {
    return;
  }
  try {
    await writeClipboard(textOf(target));
    flash(button, "Copied", "is-copied");
    announce("Copied to clipboard");
  } catch {
    selectContents(target);
    flash(button, "Press Ctrl+C", "is-failed");
    announce("Could not copy automatically. The text is selected: press Control C to copy it.");
  }
}

function addBlockButtons(root) {
  for (const pre of root.querySelectorAll("[data-copy-blocks] pre:not([data-copy-ready])")) {
    pre.dataset.copyReady = "true";
    if (!pre.id) {
      blockCounter += 1;
      pre.id = `code-block-${blockCounter}`;
    }
    const wrapper = document.createElement("div");
    wrapper.className = "code-block";
    pre.before(wrapper);
    wrapper.append(pre);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-btn";
    button.dataset.copyTarget = `#${pre.id}`;
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy code to clipboard");
    wrapper.prepend(button);
  }
}

document.addEventListener("click", onClick);
addBlockButtons(document);
// htmx fires htmx:load on every piece of content it swaps in.
document.addEventListener("htmx:load", (event) => addBlockButtons(event.target));
