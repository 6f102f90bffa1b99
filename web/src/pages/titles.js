// The titles page: GET /titles with its filters, sort and paging, kept in the URL.
import { onReady } from "../lib/page.js";
import { CatalogView } from "../lib/catalog-table.js";

// What GET /titles does when it is given nothing (the URL leaves these out).
const DEFAULTS = {
  q: "",
  type: "",
  country: "",
  release_year: "",
  sort_by: "date_added",
  sort_order: "-1",
  per_page: "10",
  page: "1",
};

// The columns the table shows; every one of them can sort it.
const COLUMNS = [
  { key: "title", label: "Title", sortable: true, class: "wide" },
  { key: "type", label: "Type", sortable: true, class: "nowrap" },
  { key: "director", label: "Director", sortable: true },
  { key: "country", label: "Country", sortable: true },
  { key: "release_year", label: "Year", sortable: true, number: true },
  { key: "rating", label: "Rating", sortable: true },
  { key: "duration", label: "Duration", sortable: true, class: "nowrap" },
  { key: "date_added", label: "Added", sortable: true, class: "nowrap" },
  { key: "listed_in", label: "Genres", sortable: true },
];

/** Build the titles view over the page's form, table and pager, and show the first page. */
function start() {
  const view = new CatalogView({
    path: "/titles",
    defaults: DEFAULTS,
    columns: COLUMNS,
    noun: "title",
    parts: {
      form: document.getElementById("titles-form"),
      table: document.getElementById("titles-table"),
      pager: document.querySelector('nav[aria-label="Pages of titles"]'),
      status: document.getElementById("titles-count"),
    },
  });
  document.getElementById("titles-clear").addEventListener("click", () => view.clearFilters());
  view.load();
}

onReady(start);
