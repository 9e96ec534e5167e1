// S3 bucket page: drag-and-drop (or chosen) files upload one by one to the console's upload view,
// each with its own progress bar. The object table is server-rendered: when a batch is done, the
// "s3-objects-changed" event makes htmx fetch it again.

const zone = document.getElementById("dropzone");

function fileRow(list, template, file) {
  const row = template.content.firstElementChild.cloneNode(true);
  row.querySelector(".upload-name").textContent = file.name;
  const bar = row.querySelector("progress");
  bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
  list.append(row);
  return { row, bar, status: row.querySelector(".upload-status") };
}

function finish(view, ok, text) {
  view.row.dataset.state = ok ? "done" : "failed";
  view.status.textContent = text;
  if (ok) {
    view.bar.value = 100;
    view.bar.classList.add("progress-success");
  }
}

function upload(file, view) {
  // XMLHttpRequest, not fetch: only XHR reports upload progress.
  return new Promise((resolve) => {
    const body = new FormData();
    body.append("file", file);
    body.append("prefix", zone.dataset.prefix);
    const request = new XMLHttpRequest();
    request.open("POST", zone.dataset.uploadUrl);
    request.setRequestHeader("X-CSRFToken", zone.querySelector("input[name=csrfmiddlewaretoken]").value);
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        view.bar.value = Math.round((event.loaded / event.total) * 100);
        view.status.textContent = `${view.bar.value}%`;
      }
    });
    request.addEventListener("load", () => {
      const ok = request.status === 201;
      finish(view, ok, ok ? "Uploaded" : (request.response && request.response.error) || `Failed (HTTP ${request.status})`);
      resolve(ok);
    });
    request.addEventListener("error", () => {
      finish(view, false, "Network error");
      resolve(false);
    });
    view.status.textContent = "Uploading…";
    request.send(body);
  });
}

async function uploadAll(files) {
  const list = document.getElementById("upload-list");
  const template = document.getElementById("upload-row-template");
  const maxBytes = Number(zone.dataset.maxBytes);
  const queue = [];
  for (const file of files) {
    const view = fileRow(list, template, file);
    if (file.size > maxBytes) finish(view, false, "Too big for the console: use aws s3 cp");
    else queue.push([file, view]);
  }
  const announcer = document.getElementById("upload-announcer");
  announcer.textContent = `Uploading ${queue.length} of ${files.length} files…`;
  let uploaded = 0;
  for (const [file, view] of queue) if (await upload(file, view)) uploaded += 1;
  // One announcement per batch: per-percent updates would flood a screen reader.
  const failed = files.length - uploaded;
  announcer.textContent = `Uploaded ${uploaded} of ${files.length} files.${failed ? ` ${failed} failed: see the list.` : ""}`;
  document.body.dispatchEvent(new CustomEvent("s3-objects-changed"));
}

if (zone) {
  const target = document.getElementById("dropzone-target");
  const input = document.getElementById("upload-input");
  input.addEventListener("change", () => {
    uploadAll([...input.files]);
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      target.classList.add("is-dragging");
    });
  }
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) target.classList.remove("is-dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    target.classList.remove("is-dragging");
    const files = [...(event.dataTransfer?.files || [])];
    if (files.length) uploadAll(files);
  });
  zone.dataset.ready = "true"; // a drop before this point would do nothing (tests wait for it)
}
