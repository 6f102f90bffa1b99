// The job page's report of an ended job: what went wrong, its result and its outputs
// (downloads, and a table of the first rows of each CSV output).
import { apiUrl } from "./api.js";
import { csvPreview, isCsv } from "./csv-preview.js";
import { element, human, reporting } from "./page.js";
import { table } from "./table.js";

/** A definition list of `pairs` ([term, description] with text or elements). */
function facts(pairs) {
  return element("dl", { class: "facts" }, ...pairs.flatMap(([term, value]) => [element("dt", {}, term), element("dd", {}, value)]));
}

/** A bad-row error ("line 3, column "Plays": …") as line, column and problem; or null. */
export function badRow(error) {
  const found = /^line (\d+)(?:,\s*column\s+("[^"]*"|\S+?))?[,:]?\s+(.*)$/s.exec(error || "");
  if (!found) return null;
  return { line: found[1], column: (found[2] || "").replace(/^"|"$/g, ""), problem: found[3] };
}

/** The error section's content: the text, and for a bad row a table of where it is. */
export function errorContent(error) {
  const text = element("p", { class: "failure", id: "job-error-text" }, error);
  const row = badRow(error);
  if (!row) return [text];
  return [text, table("Where the input is wrong", ["Line", "Column", "Problem"], [[row.line, row.column || "—", row.problem]])];
}

/** A value of the result as text: numbers and strings as they are, the rest as JSON. */
function asText(value) {
  return typeof value === "string" || typeof value === "number" ? String(value) : JSON.stringify(value);
}

/** The result section's content: digests as text, skipped rows as a table, the rest listed. */
export function resultContent(result) {
  const { digests, skipped_lines: skipped, ...rest } = result || {};
  const parts = [];
  if (digests && typeof digests === "object") {
    parts.push(element("h3", {}, "Digests"));
    parts.push(facts(Object.entries(digests).map(([name, hex]) => [name, element("code", { class: "digest" }, String(hex))])));
  }
  const others = Object.entries(rest);
  if (others.length) parts.push(facts(others.map(([name, value]) => [name.replaceAll("_", " "), asText(value)])));
  if (Array.isArray(skipped) && skipped.length) {
    parts.push(element("h3", {}, "Skipped rows"));
    const rows = skipped.map((s) => [String(s.line), s.reason]);
    parts.push(table(`Skipped rows (${skipped.length} listed)`, [{ text: "Line", number: true }, "Reason"], rows));
  }
  return parts;
}

/** The URL of the job's output `name`. */
export function outputUrl(jobId, name) {
  return apiUrl(`/jobs/${encodeURIComponent(jobId)}/outputs/${encodeURIComponent(name)}`);
}

/** The outputs section's content: a table of downloads, then a preview of each CSV. */
export function outputsContent(job) {
  const rows = job.outputs.map((o) => [
    o.name,
    o.content_type,
    human(o.size),
    element("a", { href: outputUrl(job.id, o.name), download: "" }, `Download ${o.name}`),
  ]);
  const columns = ["Name", "Type", { text: "Size", number: true }, "Download"];
  const parts = [table("Files the job made", columns, rows)];
  for (const output of job.outputs.filter(isCsv)) {
    const holder = element("div", {}, element("p", { class: "notice" }, `Loading a preview of ${output.name}…`));
    parts.push(element("h3", {}, `Preview of ${output.name}`), holder);
    reporting(async () => holder.replaceChildren(await csvPreview(output, outputUrl(job.id, output.name))));
  }
  return parts;
}
