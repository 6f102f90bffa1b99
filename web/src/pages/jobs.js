// The jobs page: the user's jobs with state, progress, file and timings, each linking to
// its own page; looked at again while some are still queued or running.
import { api } from "../lib/api.js";
import { fileNames, finished, percent, seconds, stateBadge } from "../lib/job-format.js";
import { element, onReady, reporting, when } from "../lib/page.js";
import { addressWith, pageFromAddress, pager, table } from "../lib/table.js";
import "./files.css";
import "./jobs.css";

const PER_PAGE = 20;
const POLL_MS = 2000; // how often a list with unfinished jobs is looked at again
let pollTimer = null;

/** The filters the address asks for: ?state= and ?file_id=. */
function filters() {
  const query = new URLSearchParams(location.search);
  return { state: query.get("state") || "", file_id: query.get("file_id") || "" };
}

/** One row of the jobs table. */
function jobRow(job, names) {
  const link = element("a", { href: `/jobs/${encodeURIComponent(job.id)}` }, `${job.processor} job ${job.id.slice(0, 8)}`);
  return [
    element("td", {}, link),
    element("td", {}, job.processor),
    element("td", {}, stateBadge(job)),
    element("td", { class: "number" }, percent(job)),
    element("td", {}, names.get(job.file_id) || job.file_id),
    element("td", {}, when(job.queued_at)),
    element("td", {}, when(job.started_at)),
    element("td", {}, when(job.finished_at)),
    element("td", { class: "number" }, seconds(job.processing_seconds)),
  ];
}

/** Show one page of jobs (or say there are none). */
function show(listing, names) {
  const area = document.getElementById("jobs");
  area.setAttribute("aria-busy", "false");
  if (listing.items.length === 0 && listing.page > 1) {
    location.assign(addressWith({ page: null })); // past the last page: back to the first
    return;
  }
  if (listing.total === 0) {
    area.replaceChildren(element("p", { class: "notice" }, "No jobs to show."));
    return;
  }
  const columns = [
    "Job", "Processor", "State", { text: "Progress", number: true }, "File",
    "Queued", "Started", "Finished", { text: "Took", number: true },
  ];
  area.replaceChildren(
    table(`Your jobs (${listing.total})`, columns, listing.items.map((job) => jobRow(job, names))),
    pager(listing, listing.total === 1 ? "job" : "jobs", (page) => addressWith({ page })),
  );
}

/** Say which file the list is limited to, with a way back to all jobs. */
function showFileFilter(fileId, names) {
  const note = document.getElementById("jobs-file");
  if (!fileId) return;
  note.replaceChildren(
    `Only the jobs of ${names.get(fileId) || fileId}. `,
    element("a", { href: addressWith({ file_id: null, page: null }) }, "Show the jobs of every file"),
  );
  note.hidden = false;
}

/** Load the page of jobs; look again soon while some have not ended. */
async function load() {
  clearTimeout(pollTimer);
  const { state, file_id: fileId } = filters();
  const params = { page: pageFromAddress(), per_page: PER_PAGE };
  if (state) params.state = state;
  if (fileId) params.file_id = fileId;
  const found = await reporting(async () => {
    const listing = await api("/jobs", { params });
    const ids = [...listing.items.map((job) => job.file_id), ...(fileId ? [fileId] : [])];
    return { listing, names: await fileNames(ids, (id) => api(`/files/${encodeURIComponent(id)}`)) };
  });
  if (!found) return;
  show(found.listing, found.names);
  showFileFilter(fileId, found.names);
  if (found.listing.items.some((job) => !finished(job))) pollTimer = setTimeout(load, POLL_MS);
}

onReady(() => {
  const form = document.getElementById("jobs-filter");
  form.state.value = filters().state;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.assign(addressWith({ state: form.state.value, page: null }));
  });
  load();
});
