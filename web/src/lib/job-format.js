// How the jobs pages word a job: its state, progress and timings.
import { element, human } from "./page.js";

export const FINISHED = ["succeeded", "failed", "cancelled"];

/** Whether the job has ended (its state will not change again). */
export function finished(job) {
  return FINISHED.includes(job.state);
}

/** The job's state as an element coloured by state; a requested cancel is said too. */
export function stateBadge(job) {
  const text = job.cancel_requested && !finished(job) ? `${job.state} (cancel requested)` : job.state;
  return element("span", { class: `state-${job.state}` }, text);
}

/** The progress as a whole percent: "45 %". */
export function percent(job) {
  return `${Math.floor((job.progress || 0) * 100)} %`;
}

/** What the progress counts: "1.5 MiB of 3.0 MiB", "120 of 400 rows", or "". */
export function progressDetail(job) {
  if (job.progress_done === null || job.progress_done === undefined) return "";
  const total = job.progress_total;
  if (job.progress_unit === "bytes") {
    return total ? `${human(job.progress_done)} of ${human(total)}` : human(job.progress_done);
  }
  const unit = job.progress_unit || "";
  return total ? `${job.progress_done} of ${total} ${unit}`.trim() : `${job.progress_done} ${unit}`.trim();
}

/** A duration in seconds, readably: "0.42 s", "3 min 5 s". */
export function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(value / 60);
  return `${minutes} min ${Math.round(value - minutes * 60)} s`;
}

/** The file names of `fileIds`, by id, looked up with `getFile` (missing: omitted). */
export async function fileNames(fileIds, getFile) {
  const names = new Map();
  await Promise.all(
    [...new Set(fileIds)].map(async (id) => {
      const file = await getFile(id).catch(() => null);
      if (file) names.set(id, file.filename);
    }),
  );
  return names;
}
