// The files page: the user's stored files, their digests, downloads, deletion and jobs.
import { api, apiUrl } from "../lib/api.js";
import { element, human, onReady, reporting, when } from "../lib/page.js";
import { runProcessorDialog } from "../lib/run-processor.js";
import { addressWith, pageFromAddress, pager, table } from "../lib/table.js";
import "./files.css";

const PER_PAGE = 20;
const POLL_MS = 1500; // how often files still verifying are looked at again
let pollTimer = null;
let runner = null;

/** The file's state: "ready", "verifying…", or "failed: <reason>". */
function stateCell(file) {
  const badge = element("span", { class: `state-${file.state}` }, file.state === "verifying" ? "verifying…" : file.state);
  if (file.state !== "failed") return [badge];
  return [badge, element("div", { class: "failure" }, file.error || "verification failed")];
}

/** The file's sha256 and md5, labelled, once known. */
function digestsCell(file) {
  const line = (name, value) =>
    element("div", {}, `${name} `, value ? element("code", { class: "digest" }, value) : "…");
  const td = element("td", { class: "digests" }, line("sha256", file.sha256), line("md5", file.md5));
  return td;
}

/** Download, run a processor, its jobs and delete: what can be done with the file. */
function actionsCell(file) {
  const ready = file.state === "ready";
  const download = ready
    ? element("a", { class: "button secondary", href: apiUrl(`/files/${file.id}/content`), download: "" }, "Download")
    : null;
  const run = file.state !== "failed"
    ? element("button", { type: "button", onclick: () => runner?.open(file) }, "Run a processor")
    : null;
  const jobs = element("a", { class: "button secondary", href: `/jobs?file_id=${encodeURIComponent(file.id)}` }, "Show jobs");
  const remove = element("button", { type: "button", class: "danger", onclick: () => confirmDelete(file) }, "Delete");
  return element("td", {}, element("div", { class: "actions" }, download, run, jobs, remove));
}

/** One row of the files table. */
function fileRow(file) {
  return [
    element("td", { class: "name" }, file.filename),
    element("td", { class: "number" }, human(file.size)),
    element("td", {}, ...stateCell(file)),
    digestsCell(file),
    element("td", {}, when(file.created_at)),
    actionsCell(file),
  ];
}

/** Show one page of files (or say there are none). */
function show(listing) {
  const area = document.getElementById("files");
  area.setAttribute("aria-busy", "false");
  if (listing.items.length === 0 && listing.page > 1) {
    location.assign(addressWith({ page: null })); // past the last page: back to the first
    return;
  }
  if (listing.total === 0) {
    area.replaceChildren(element("p", { class: "notice" }, "You have no files yet."));
    return;
  }
  const columns = ["Name", { text: "Size", number: true }, "State", "Digests", "Stored", "Actions"];
  area.replaceChildren(
    table(`Your files (${listing.total})`, columns, listing.items.map(fileRow)),
    pager(listing, listing.total === 1 ? "file" : "files", (page) => addressWith({ page })),
  );
}

/** Load the current page of files; look again soon while some are still verifying. */
async function load() {
  clearTimeout(pollTimer);
  const listing = await reporting(() => api("/files", { params: { page: pageFromAddress(), per_page: PER_PAGE } }));
  if (!listing) return;
  show(listing);
  if (listing.items.some((file) => file.state === "verifying")) pollTimer = setTimeout(load, POLL_MS);
}

/** Ask in the dialog whether to delete `file`; delete it if the answer is "Delete". */
function confirmDelete(file) {
  const dialog = document.getElementById("confirm-delete");
  document.getElementById("confirm-delete-title").textContent = `Delete ${file.filename}?`;
  document.getElementById("confirm-delete-text").textContent =
    "Its bytes, its jobs and their outputs are deleted too. This cannot be undone.";
  dialog.returnValue = "";
  dialog.addEventListener("close", () => dialog.returnValue === "delete" && remove(file), { once: true });
  dialog.showModal();
}

/** Delete `file` and show the list without it. */
async function remove(file) {
  const status = document.getElementById("files-status");
  const done = await reporting(async () => {
    await api(`/files/${encodeURIComponent(file.id)}`, { method: "DELETE" });
    return true;
  });
  if (done) status.textContent = `Deleted ${file.filename}.`;
  await load();
  document.getElementById("main").focus();
}

onReady(async () => {
  const processors = await reporting(() => api("/processors"));
  if (processors) runner = runProcessorDialog(document.getElementById("main"), processors);
  await load();
});
