// The job page: one job's state, live progress (Server-Sent Events), timings, cancel,
// and once it has ended its error, result and outputs.
import { api, apiUrl } from "../lib/api.js";
import { finished, percent, progressDetail, seconds, stateBadge } from "../lib/job-format.js";
import { errorContent, outputsContent, resultContent } from "../lib/job-result.js";
import { element, onReady, reporting, when } from "../lib/page.js";
import "./files.css";
import "./job.css";

const jobId = decodeURIComponent(location.pathname.split("/")[2] || "");
const byId = (id) => document.getElementById(id);
let fileName = null;
let reported = false; // whether the ended job's error, result and outputs are shown
let events = null;
const POLL_MS = 3000; // how often the job is looked at when its event stream is closed
// What the status line says once the job has ended.
const ENDED = { succeeded: "The job succeeded.", failed: "The job failed.", cancelled: "The job was cancelled." };

/** Show the progress bar, its percent and what it counts. */
function showProgress(job) {
  const bar = byId("job-progress");
  const text = percent(job);
  bar.value = Math.round((job.progress || 0) * 100);
  bar.setAttribute("aria-valuetext", text);
  const detail = progressDetail(job);
  byId("job-progress-text").textContent = detail ? `${text} (${detail})` : text;
}

/** The facts about the job: processor, file, state and timings. */
function showFacts(job) {
  const download = element("a", { href: apiUrl(`/files/${encodeURIComponent(job.file_id)}/content`), download: "" }, "Download");
  const file = element("span", {}, fileName || job.file_id, " ", fileName ? download : null);
  const pairs = [
    ["Processor", job.processor],
    ["State", stateBadge(job)],
    ["File", file],
    ["Queued", when(job.queued_at)],
    ["Started", when(job.started_at) || "not yet"],
    ["Finished", when(job.finished_at) || "not yet"],
    ["Processing time", seconds(job.processing_seconds) || "—"],
    ["Upload time", seconds(job.upload_seconds) || "—"],
    ["Attempts", String(job.attempts)],
    ["Params", element("code", {}, JSON.stringify(job.params))],
  ];
  byId("job-facts").replaceChildren(...pairs.flatMap(([t, v]) => [element("dt", {}, t), element("dd", {}, v)]));
}

/** Show the ended job's error, result and outputs, once. */
function showReport(job) {
  if (reported || !finished(job)) return;
  reported = true;
  if (job.error) {
    byId("job-error").replaceChildren(byId("job-error-title"), ...errorContent(job.error));
    byId("job-error").hidden = false;
  }
  if (job.result) {
    byId("job-result-body").replaceChildren(...resultContent(job.result));
    byId("job-result").hidden = false;
  }
  if (job.outputs.length) {
    byId("job-outputs-body").replaceChildren(...outputsContent(job));
    byId("job-outputs").hidden = false;
  }
}

/** Show `job` as it is now. */
function show(job) {
  byId("job-title").textContent = `${job.processor} job ${job.id}`;
  showProgress(job);
  showFacts(job);
  const cancel = byId("cancel-job");
  const hadFocus = document.activeElement === cancel;
  cancel.hidden = finished(job);
  cancel.disabled = job.cancel_requested;
  if (finished(job)) {
    byId("job-status").textContent = ENDED[job.state];
    if (hadFocus) byId("job-title").focus();
  }
  showReport(job);
}

/** Follow the job's event stream until it ends. */
function follow() {
  events = new EventSource(apiUrl(`/jobs/${encodeURIComponent(jobId)}/events`));
  const onEvent = (event) => {
    const job = JSON.parse(event.data);
    show(job);
    if (finished(job)) events.close();
  };
  events.addEventListener("state", onEvent);
  events.addEventListener("progress", onEvent);
  events.addEventListener("error", () => {
    if (events.readyState === EventSource.CLOSED) poll();
  });
}

/** Look at the job every few seconds until it ends: for when the event stream gave up. */
async function poll() {
  const job = await reporting(() => api(`/jobs/${encodeURIComponent(jobId)}`));
  if (job) show(job);
  if (!job || !finished(job)) setTimeout(poll, POLL_MS);
}

/** Ask for the job to be cancelled, and show what the API answers. */
async function cancel() {
  const job = await reporting(() => api(`/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" }));
  if (!job) return;
  if (!finished(job)) byId("job-status").textContent = "Cancel requested: the job stops at its next check.";
  show(job);
}

onReady(async () => {
  const job = await reporting(() => api(`/jobs/${encodeURIComponent(jobId)}`));
  if (!job) return;
  const file = await api(`/files/${encodeURIComponent(job.file_id)}`).catch(() => null);
  fileName = file?.filename || null;
  byId("job").hidden = false;
  byId("job").setAttribute("aria-busy", "false");
  byId("job-title").setAttribute("tabindex", "-1");
  byId("cancel-job").addEventListener("click", cancel);
  show(job);
  if (!finished(job)) follow();
});
