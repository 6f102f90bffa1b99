// Shared pieces of the catalogue pages: a sortable, paged table of one API list, its
// state kept in the URL's query string (so reload and back show the same page).
import { api } from "./api.js";
import { element, reporting } from "./page.js";
import "./catalog-table.css";

/** The text a cell shows for `value` (null and undefined: nothing). */
function cellText(value) {
  return value === null || value === undefined ? "" : String(value);
}

/** `state` with the fields of `form` (by their names) put in. */
export function readForm(form, state) {
  const next = { ...state };
  for (const field of form.elements) {
    if (field.name && field.name in next) next[field.name] = field.value.trim();
  }
  return next;
}

/** Put the values of `state` into the fields of `form` that carry their names. */
export function fillForm(form, state) {
  for (const field of form.elements) {
    if (!field.name || !(field.name in state)) continue;
    if (field.tagName === "SELECT") addMissingOption(field, state[field.name]);
    field.value = state[field.name];
  }
}

/** Let a <select> show a value the URL gave even when it is not one of its options. */
function addMissingOption(select, value) {
  if ([...select.options].some((option) => option.value === value)) return;
  select.append(element("option", { value }, value));
}

/** A sortable, paged table over one API list; its state lives in the URL under `prefix`. */
export class CatalogView {
  /**
   * `path` is the API list, `defaults` its query parameters (as text), `columns` the
   * table's columns ({key, label, number?, sortable?, format?}), `parts` the DOM pieces
   * ({table, pager, status?, form?}), `noun` what one row is ("title"), `prefix` what
   * its keys in the URL start with (when a page has two views).
   */
  constructor({ path, defaults, columns, parts, noun, prefix = "" }) {
    Object.assign(this, { path, defaults, columns, noun, prefix });
    Object.assign(this, parts);
    this.loads = 0;
    this.state = this.fromUrl();
    this.buildHead();
    this.wirePager();
    this.wireForm();
    window.addEventListener("popstate", () => this.followHistory());
  }

  /** The state the URL's query string holds (defaults where it says nothing). */
  fromUrl() {
    const params = new URLSearchParams(location.search);
    const state = {};
    for (const [key, value] of Object.entries(this.defaults)) {
      state[key] = params.get(this.prefix + key) ?? value;
    }
    return state;
  }

  /** Record the state in the URL as a new history entry, keeping other views' keys. */
  toUrl() {
    const params = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(this.state)) {
      if (value === "" || value === this.defaults[key]) params.delete(this.prefix + key);
      else params.set(this.prefix + key, value);
    }
    const query = params.toString();
    const url = location.pathname + (query ? `?${query}` : "");
    if (url !== location.pathname + location.search) history.pushState(null, "", url);
  }

  /** The API's query parameters for the state: every value that is not empty. */
  apiParams() {
    return Object.fromEntries(Object.entries(this.state).filter(([, value]) => value !== ""));
  }

  /** Show what the URL says now (after back or forward), if it changed for this view. */
  followHistory() {
    const state = this.fromUrl();
    if (JSON.stringify(state) === JSON.stringify(this.state)) return;
    this.state = state;
    this.load();
  }

  /** Change the state (back to page 1 unless `changes` names a page), record it, show it. */
  apply(changes) {
    this.state = { ...this.state, page: "1", ...changes };
    this.toUrl();
    return this.load();
  }

  /** Fetch the page the state describes and show it; a refusal shows the API's detail. */
  async load() {
    const ticket = ++this.loads;
    if (this.form) fillForm(this.form, this.state);
    this.markSorted();
    this.table.setAttribute("aria-busy", "true");
    const data = await reporting(() => api(this.path, { params: this.apiParams() }));
    if (ticket !== this.loads) return; // a newer request has been sent since
    this.table.removeAttribute("aria-busy");
    this.show(data ?? null);
  }

  /** Show one answer of the API (null: nothing to show, after a refusal). */
  show(data) {
    const items = data ? data.items : [];
    const body = this.table.tBodies[0] ?? this.table.createTBody();
    body.replaceChildren(...items.map((item) => this.row(item)));
    if (items.length === 0) body.append(this.emptyRow(data));
    this.showPager(data);
  }

  /** One table row for `item`. */
  row(item) {
    const cells = this.columns.map((column) => {
      const value = column.format ? column.format(item[column.key], item) : item[column.key];
      return element("td", { class: column.number ? "number" : column.class }, cellText(value));
    });
    return element("tr", {}, ...cells);
  }

  /** The row a table shows when there is no item to show. */
  emptyRow(data) {
    const text = data ? `No ${this.noun}s match.` : `No ${this.noun}s to show.`;
    return element("tr", {}, element("td", { colspan: this.columns.length }, text));
  }

  /** The table's head: a column name per column, a sort button on the sortable ones. */
  buildHead() {
    const cells = this.columns.map((column) => {
      const attributes = { scope: "col", class: column.number ? "number" : null };
      if (!column.sortable) return element("th", attributes, column.label);
      const title = `Sort by ${column.label.toLowerCase()}`;
      const button = element(
        "button",
        { type: "button", class: "sort", "data-sort": column.key, title },
        column.label,
        element("span", { class: "arrow", "aria-hidden": "true" }),
      );
      button.addEventListener("click", () => this.sortBy(column.key));
      return element("th", { ...attributes, "data-key": column.key }, button);
    });
    const head = this.table.tHead ?? this.table.createTHead();
    head.replaceChildren(element("tr", {}, ...cells));
  }

  /** Sort by `key`: the other way round when it is already the sort, else ascending. */
  sortBy(key) {
    const flip = this.state.sort_by === key && this.state.sort_order === "1";
    this.apply({ sort_by: key, sort_order: flip ? "-1" : "1" });
  }

  /** Show in the head (aria-sort and an arrow) which column sorts, which way. */
  markSorted() {
    for (const th of this.table.querySelectorAll("th[data-key]")) {
      const sorted = th.dataset.key === this.state.sort_by;
      const ascending = this.state.sort_order === "1";
      if (sorted) th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
      th.querySelector(".arrow").textContent = sorted ? (ascending ? " ▲" : " ▼") : "";
    }
  }

  /** The previous and next buttons of the pager. */
  wirePager() {
    this.previous = this.pager.querySelector("[data-page=previous]");
    this.next = this.pager.querySelector("[data-page=next]");
    this.where = this.pager.querySelector("[data-page=where]");
    this.previous.addEventListener("click", () => this.turn(-1));
    this.next.addEventListener("click", () => this.turn(1));
  }

  /** Go `step` pages on. */
  turn(step) {
    this.apply({ page: String(Number(this.state.page) + step) });
  }

  /** "Page x of y" and the buttons that can be used, after answer `data` (or none). */
  showPager(data) {
    const page = data ? data.page : 1;
    const pages = data ? Math.max(1, Math.ceil(data.total / data.per_page)) : 1;
    const focused = document.activeElement;
    this.previous.disabled = !data || page <= 1;
    this.next.disabled = !data || page >= pages;
    this.where.textContent = data ? `Page ${page} of ${pages}` : "";
    if (this.status) this.status.textContent = data ? this.count(data.total) : "";
    this.keepFocus(focused);
  }

  /** How many rows match, in words. */
  count(total) {
    return `${total.toLocaleString()} ${this.noun}${total === 1 ? "" : "s"}`;
  }

  /** When the focused pager button was just disabled, focus the other one instead. */
  keepFocus(focused) {
    const pair = [this.previous, this.next];
    if (!pair.includes(focused) || !focused.disabled) return;
    const other = pair.find((button) => button !== focused);
    if (!other.disabled) other.focus();
  }

  /** The form: submitting it (or changing one of its lists) applies what it says. */
  wireForm() {
    if (!this.form) return;
    fillForm(this.form, this.state);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.apply(readForm(this.form, this.state));
    });
    this.form.addEventListener("change", (event) => {
      if (event.target.tagName === "SELECT") this.apply(readForm(this.form, this.state));
    });
  }

  /** Empty the form's filters and show everything again (sort and page length kept). */
  clearFilters() {
    const kept = ["sort_by", "sort_order", "per_page"];
    const cleared = {};
    for (const field of this.form.elements) {
      if (field.name in this.state && !kept.includes(field.name)) cleared[field.name] = "";
    }
    this.apply(cleared);
  }
}
