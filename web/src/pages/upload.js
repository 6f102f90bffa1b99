// The upload page: Uppy's dashboard sends the files to lfp over tus (/api/v1/tus/), each
// with the processor and params picked above it, and lists the files as they complete.
//
// Surviving a reload or a closed tab: Golden Retriever keeps Uppy's state (each file's
// meta and its tus upload URL) in IndexedDB, and the files' bytes too, up to BLOB_LIMIT
// per file and BLOB_TOTAL in all (a copy of each added file is written to IndexedDB; in
// Chromium that counts against the origin's storage quota, a share of the free disk).
// After a reload the files come back by themselves and the uploads that were running go
// on at once (paused ones too): tus asks the server (HEAD) where each upload stands and
// sends only the rest. A file whose bytes were not kept (over the limits, the store full
// or cleared) comes back as a "ghost": the dashboard asks to select it again, and once it
// is, its upload goes on from the stored upload URL just the same. A file added again in
// a new session (same name, size, type and date) is found by tus-js-client's own
// fingerprint in localStorage and resumed too; a cancelled upload is deleted on the server.
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import GoldenRetriever from "@uppy/golden-retriever";
import Tus from "@uppy/tus";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";
import { api, apiHeaders } from "../lib/api.js";
import { element, human, onReady, reporting, showProblem } from "../lib/page.js";
import { paramsForm } from "../lib/params-form.js";
import "../upload.css";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CHUNK_SIZE = 8 * MiB; // one PATCH each: progress is saved on the server this often
const BLOB_LIMIT = 4 * GiB; // the largest file whose bytes Golden Retriever keeps
const BLOB_TOTAL = 8 * GiB; // all kept files together
// A dropped network: retry for about five minutes before giving the upload up.
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000, 60000];
const BASE_META = ["name", "type"]; // sent by tus as `filename` and `filetype` too

// What the page knows of the processor picked: its name and its params form.
const picked = { name: "", form: null, loading: null };

/** Uppy's log, with its errors as warnings: the page shows what went wrong itself. */
const logger = {
  debug() {},
  warn: (...args) => console.warn(...args),
  error: (...args) => console.warn(...args),
};

/** Fill the processor <select> from the API; returns the processors by name. */
async function loadProcessors() {
  const processors = await api("/processors");
  const select = document.getElementById("processor");
  for (const processor of processors) {
    select.append(element("option", { value: processor.name }, processor.name));
  }
  return new Map(processors.map((processor) => [processor.name, processor]));
}

/** Show the params form of the processor picked (none for "No processor"). */
async function pickProcessor(processors, name) {
  picked.form?.destroy();
  picked.form = null;
  picked.name = name;
  const holder = document.getElementById("params-form");
  const description = document.getElementById("processor-description");
  const processor = processors.get(name);
  description.textContent = processor ? processor.description : "The files are only stored.";
  if (!processor) {
    holder.replaceChildren();
    return;
  }
  picked.loading = paramsForm(holder, name, processor.params_schema);
  const form = await picked.loading;
  if (picked.name === name) picked.form = form;
  else form.destroy();
}

/** tus's retry rule, except that a full store or quota (507) is not retried: waiting
 * does not free space, and the user should hear of it at once. */
function shouldRetry(error, attempt, options, next) {
  if (error?.originalResponse?.getStatus() === 507) return false;
  return next(error);
}

/** The metadata tus sends for new uploads, or null (and the reason shown) when invalid. */
function uploadMeta() {
  if (!picked.name) return {};
  if (!picked.form) {
    showProblem("The processor's params form is still loading; press Upload again.");
    return null;
  }
  const problems = picked.form.problems();
  if (problems.length > 0) {
    picked.form.showErrors();
    showProblem(`Fix the params of ${picked.name} before uploading: ${problems.join("; ")}`);
    return null;
  }
  return { processor: picked.name, params: JSON.stringify(picked.form.value()) };
}

/** Uppy's onBeforeUpload: give new files the processor and params, or refuse to start. */
function beforeUpload(files) {
  const meta = uploadMeta();
  if (meta === null) return false;
  showProblem(null);
  const fields = [...BASE_META, ...Object.keys(meta)];
  const updated = {};
  for (const [id, file] of Object.entries(files)) {
    if (file.progress.uploadStarted) {
      updated[id] = file;
      continue;
    }
    const { processor, params, ...rest } = file.meta;
    updated[id] = {
      ...file,
      meta: { ...rest, ...meta },
      tus: { ...file.tus, allowedMetaFields: fields },
    };
  }
  return updated;
}

/** The `detail` of a problem the tus server answered, else the error's own message. */
function tusProblem(error, response) {
  const xhr = response?.body?.xhr ?? error?.originalResponse?.getUnderlyingObject?.();
  const text = xhr?.responseText;
  if (text) {
    try {
      const body = JSON.parse(text);
      if (typeof body.detail === "string") return body.detail;
    } catch {
      // not a problem body: fall through to the error's message
    }
  }
  if (error?.isNetworkError || xhr?.status === 0) {
    return "the server cannot be reached; press Retry when the connection is back";
  }
  return error?.message ?? "the upload failed";
}

/** Show why an upload failed, in the page's alert and on the file in the dashboard. */
function onUploadError(uppy, file, error, response) {
  if (!file) return;
  const detail = tusProblem(error, response);
  showProblem(`${file.name}: ${detail}`);
  if (uppy.getFile(file.id)) uppy.setFileState(file.id, { error: detail });
}

/** The file and job ids of a finished tus upload: its last answer's headers, else the API. */
async function uploadIds(response) {
  const xhr = response?.body?.xhr;
  const fileId = xhr?.getResponseHeader?.("Lfp-File-Id");
  if (fileId) return { fileId, jobId: xhr.getResponseHeader("Lfp-Job-Id") };
  const uploadId = (response?.uploadURL ?? "").split("/").filter(Boolean).pop();
  const upload = await api(`/uploads/${encodeURIComponent(uploadId)}`);
  return { fileId: upload.file_id, jobId: upload.job_id };
}

/** One line of the "Uploaded" list: the name, and links to the Files and job pages. */
function uploadedItem(file, ids) {
  const processor = file.meta.processor;
  const links = [element("a", { href: "/files" }, "see it in Files")];
  if (ids.jobId) {
    links.push(" · ", element("a", { href: `/jobs/${ids.jobId}` }, `${processor || "its"} job`));
  }
  return element(
    "li",
    { "data-file-id": ids.fileId },
    element("span", { class: "uploaded-name" }, file.name),
    ` (${human(file.size)}) — `,
    ...links,
  );
}

/** Add a completed file to the "Uploaded" list. */
async function onUploadSuccess(file, response) {
  if (!file) return;
  try {
    const ids = await uploadIds(response);
    document.getElementById("uploaded").append(uploadedItem(file, ids));
    document.getElementById("uploaded-section").hidden = false;
  } catch (error) {
    // Not through `reporting`: that would first hide another file's problem.
    showProblem(`${file.name} was uploaded, but ${error.message}`);
  }
}

/** After a reload, go on with the uploads that were running, if all their files came back. */
function onRestored(uppy) {
  const { recoveredState, currentUploads, files } = uppy.getState();
  if (!recoveredState || Object.keys(currentUploads).length === 0) return;
  if (Object.values(files).some((file) => file.isGhost)) return;
  uppy.info("Going on with the uploads of your last visit.", "info", 5000);
  uppy.emit("restore-confirmed");
}

// Each uploading file's last progress sample and its smoothed speed (bytes per second).
const speeds = new Map();

/** The smoothed speed of `file` after it reached `bytes` (a sample at most every 0.5 s). */
function speedOf(file, bytes) {
  const now = performance.now();
  const last = speeds.get(file.id);
  if (!last || bytes < last.bytes) {
    speeds.set(file.id, { bytes, at: now, rate: 0 });
    return 0;
  }
  const seconds = (now - last.at) / 1000;
  if (seconds < 0.5) return last.rate;
  const recent = (bytes - last.bytes) / seconds;
  const rate = last.rate ? 0.7 * last.rate + 0.3 * recent : recent;
  speeds.set(file.id, { bytes, at: now, rate });
  return rate;
}

/** A duration in words: `45 s`, `3 min 20 s`, `2 h 5 min`. */
function duration(seconds) {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** One progress line: how much of `total` is sent, how fast, and how long is left. */
function progressLine(label, done, total, rate, paused) {
  const percent = total ? Math.floor((done / total) * 100) : 0;
  const parts = [`${label}: ${percent}% (${human(done)} of ${human(total)})`];
  if (paused) parts.push("paused");
  else if (rate > 0) {
    parts.push(`${human(Math.round(rate))}/s`, `${duration((total - done) / rate)} left`);
  }
  return parts.join(" · ");
}

/** Show each running upload's progress, speed and time left, and the total's. */
function showProgress(uppy) {
  const running = uppy
    .getFiles()
    .filter((file) => file.progress.uploadStarted && !file.progress.uploadComplete);
  for (const id of speeds.keys()) {
    if (!running.some((file) => file.id === id)) speeds.delete(id);
  }
  const list = document.getElementById("progress-details");
  list.hidden = running.length === 0;
  let done = 0;
  let total = 0;
  let rate = 0;
  const lines = running.map((file) => {
    const sent = file.progress.bytesUploaded || 0;
    const speed = file.isPaused || file.error ? 0 : speedOf(file, sent);
    done += sent;
    total += file.size || 0;
    rate += speed;
    return element("li", {}, progressLine(file.name, sent, file.size || 0, speed, file.isPaused));
  });
  if (running.length > 1) lines.unshift(element("li", {}, progressLine("All", done, total, rate)));
  list.replaceChildren(...lines);
}

/** The Uppy instance: dashboard inline in #dashboard, tus to lfp, Golden Retriever. */
function makeUppy() {
  const upload = { 0: "Upload", 1: "Upload" };
  const uppy = new Uppy({
    id: "lfp-upload",
    autoProceed: false,
    logger,
    onBeforeUpload: beforeUpload,
    locale: { strings: { uploadXFiles: upload, uploadXNewFiles: upload } },
  });
  uppy.use(Dashboard, {
    inline: true,
    target: "#dashboard",
    width: "100%",
    height: 440,
    proudlyDisplayPoweredByUppy: false,
    disableThumbnailGenerator: true,
    note: "Any number of files, each of any size.",
  });
  uppy.use(Tus, {
    endpoint: "/api/v1/tus/",
    // Read again for each file's upload and retry: a retry after signing in anew sends the
    // new session's token.
    headers: () => apiHeaders(),
    chunkSize: CHUNK_SIZE,
    retryDelays: RETRY_DELAYS,
    onShouldRetry: shouldRetry,
    limit: 3,
    removeFingerprintOnSuccess: true,
    allowedMetaFields: BASE_META,
  });
  uppy.use(GoldenRetriever, { indexedDB: { maxFileSize: BLOB_LIMIT, maxTotalSize: BLOB_TOTAL } });
  return uppy;
}

/** Keep the dashboard's file list a list: Uppy leaves the role out when it holds one file,
 * which makes its one `listitem` an orphan. */
function keepFileListARole(root) {
  const mend = () => {
    for (const list of root.querySelectorAll(".uppy-Dashboard-files:not([role])")) {
      list.setAttribute("role", "list");
    }
  };
  new MutationObserver(mend).observe(root, { childList: true, subtree: true });
  mend();
}

/** Wire the page up: the processors, the params form and the dashboard. */
async function start() {
  const uppy = makeUppy();
  keepFileListARole(document.getElementById("dashboard"));
  uppy.on("upload-error", (file, error, response) => onUploadError(uppy, file, error, response));
  uppy.on("upload-success", (file, response) => onUploadSuccess(file, response));
  uppy.on("restored", () => onRestored(uppy));
  uppy.on("retry-all", () => showProblem(null)); // a retry starts afresh
  uppy.on("upload-retry", () => showProblem(null));
  let pending = null; // one redraw of the progress lines per half second at most
  uppy.on("state-update", () => {
    pending ??= setTimeout(() => {
      pending = null;
      showProgress(uppy);
    }, 500);
  });
  const processors = await reporting(loadProcessors);
  if (!processors) return;
  const select = document.getElementById("processor");
  select.addEventListener("change", () => reporting(() => pickProcessor(processors, select.value)));
}

onReady(start);
