// Previewing a CSV output: its first bytes fetched with a Range, its first rows parsed
// (RFC 4180 quoting, CRLF or LF, a UTF-8 BOM) and shown as a table.
import { apiHeaders } from "./api.js";
import { element } from "./page.js";
import { table } from "./table.js";

export const PREVIEW_BYTES = 65536;
export const PREVIEW_ROWS = 20;

/** Whether an output looks like CSV, by its content type or its name. */
export function isCsv(output) {
  return /^text\/csv\b/i.test(output.content_type || "") || /\.csv$/i.test(output.name);
}

/**
 * The first `limit` records of CSV `text`. When `complete` is false the text was cut
 * short, so a record that did not end with a line break is dropped (it may be partial).
 */
export function parseCsv(text, limit = PREVIEW_ROWS, complete = true) {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length && records.length < limit) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') quoted = false;
      else field += c;
      i += 1;
    } else if (c === '"' && field === "") {
      quoted = true;
      i += 1;
    } else if (c === ",") {
      record.push(field);
      field = "";
      i += 1;
    } else if (c === "\n" || c === "\r") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      field += c;
      i += 1;
    }
  }
  const pending = field !== "" || record.length > 0;
  if (complete && pending && !quoted && records.length < limit) records.push([...record, field]);
  return records;
}

/** Fetch the first bytes of `url`: the text and whether it is the whole file. */
async function firstBytes(url, size) {
  const response = await fetch(url, {
    headers: apiHeaders({ Range: `bytes=0-${PREVIEW_BYTES - 1}` }),
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`the preview could not be read (${response.status})`);
  const bytes = await response.arrayBuffer();
  return { text: new TextDecoder().decode(bytes), complete: bytes.byteLength >= size };
}

/** A section previewing the first rows of the CSV output `output` at `url`. */
export async function csvPreview(output, url) {
  const { text, complete } = await firstBytes(url, output.size);
  const [header, ...rows] = parseCsv(text, PREVIEW_ROWS + 1, complete);
  const caption = `First ${rows.length} rows of ${output.name}`;
  if (!header) return element("p", { class: "notice" }, `${output.name} is empty.`);
  const width = header.length;
  const padded = rows.map((row) => Array.from({ length: Math.max(width, row.length) }, (_, i) => row[i] ?? ""));
  return table(caption, header, padded);
}
