// Tables and pagers the list pages share, built from elements (never from HTML text).
import { element } from "./page.js";
import "./table.css";

/** A cell: a `th`/`td` holding text or elements; `number` aligns it right. */
export function cell(content, { header = false, number = false, scope } = {}) {
  const children = Array.isArray(content) ? content : [content];
  const attributes = { class: number ? "number" : null, scope: header ? scope || "col" : null };
  return element(header ? "th" : "td", attributes, ...children.map(asNode));
}

/** Text for numbers and strings, the element itself otherwise. */
function asNode(child) {
  if (child === null || child === undefined) return "";
  return child instanceof Node ? child : String(child);
}

/**
 * A table inside a horizontally scrolling box: `columns` are header texts (or
 * {text, number}), `rows` lists of cells or of contents; `caption` names the table.
 */
export function table(caption, columns, rows) {
  const head = element(
    "tr",
    {},
    ...columns.map((c) => cell(c.text ?? c, { header: true, number: Boolean(c.number) })),
  );
  const body = rows.map((row) =>
    element(
      "tr",
      {},
      ...row.map((value, i) =>
        value instanceof HTMLTableCellElement ? value : cell(value, { number: Boolean(columns[i]?.number) }),
      ),
    ),
  );
  const made = element(
    "table",
    {},
    caption ? element("caption", {}, caption) : null,
    element("thead", {}, head),
    element("tbody", {}, ...body),
  );
  return element("div", { class: "table-scroll" }, made);
}

/** "Previous"/"Next" links and "Page 2 of 5 (93 files)"; `hrefOf(page)` makes the links. */
export function pager({ page, per_page: perPage, total }, noun, hrefOf) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  const previous = page > 1 ? element("a", { href: hrefOf(page - 1), rel: "prev" }, "Previous page") : null;
  const next = page < pages ? element("a", { href: hrefOf(page + 1), rel: "next" }, "Next page") : null;
  const summary = element("span", {}, `Page ${page} of ${pages} (${total} ${noun})`);
  return element("nav", { class: "pager", "aria-label": "Pages" }, previous, summary, next);
}

/** The page number the address asks for (?page=), at least 1. */
export function pageFromAddress() {
  const wanted = Number.parseInt(new URLSearchParams(location.search).get("page") || "1", 10);
  return Number.isFinite(wanted) && wanted > 0 ? wanted : 1;
}

/** The current address with `changes` applied to its query (null removes a member). */
export function addressWith(changes) {
  const query = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") query.delete(name);
    else query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${location.pathname}?${text}` : location.pathname;
}
