// The products page: the products table (search, sort, paging) and the name aggregates as
// a table and a bar chart of the names with the most products.
import { api } from "../lib/api.js";
import { onReady, reporting, when } from "../lib/page.js";
import { CatalogView } from "../lib/catalog-table.js";

// How many names the chart shows.
const TOP = 10;

// What GET /products does when it is given nothing.
const PRODUCT_DEFAULTS = {
  q: "",
  sort_by: "updated_at",
  sort_order: "-1",
  per_page: "10",
  page: "1",
};

// What GET /products/aggregates does when it is given nothing.
const NAME_DEFAULTS = { sort_by: "count", sort_order: "-1", per_page: "10", page: "1" };

// The products table's columns.
const PRODUCT_COLUMNS = [
  { key: "sku", label: "SKU", sortable: true, class: "nowrap" },
  { key: "name", label: "Name", sortable: true },
  { key: "description", label: "Description", class: "wide" },
  { key: "updated_at", label: "Last updated", sortable: true, format: when, class: "nowrap" },
];

// The aggregates table's columns.
const NAME_COLUMNS = [
  { key: "name", label: "Name", sortable: true },
  { key: "count", label: "Products", sortable: true, number: true },
];

/** Fetch the names with the most products and chart them (chart.js loads meanwhile). */
async function loadChart() {
  const canvas = document.getElementById("names-chart");
  const params = { sort_by: "count", sort_order: "-1", per_page: String(TOP), page: "1" };
  const [data, chart] = await Promise.all([
    reporting(() => api("/products/aggregates", { params })),
    reporting(() => import("../lib/names-chart.js")),
  ]);
  if (data && chart) chart.drawChart(canvas, data.items);
  else canvas.setAttribute("aria-label", "Bar chart of products per name: it could not be shown");
}

/** The products table's view. */
function productsView() {
  return new CatalogView({
    path: "/products",
    defaults: PRODUCT_DEFAULTS,
    columns: PRODUCT_COLUMNS,
    noun: "product",
    parts: {
      form: document.getElementById("products-form"),
      table: document.getElementById("products-table"),
      pager: document.querySelector('nav[aria-label="Pages of products"]'),
      status: document.getElementById("products-count"),
    },
  });
}

/** The aggregates table's view (its state in the URL under `names_`). */
function namesView() {
  return new CatalogView({
    path: "/products/aggregates",
    defaults: NAME_DEFAULTS,
    columns: NAME_COLUMNS,
    noun: "name",
    prefix: "names_",
    parts: {
      table: document.getElementById("names-table"),
      pager: document.querySelector('nav[aria-label="Pages of names"]'),
      status: document.getElementById("names-count"),
    },
  });
}

/** Build both tables and the chart, and show them. */
function start() {
  const products = productsView();
  const names = namesView();
  const clear = document.getElementById("products-clear");
  clear.addEventListener("click", () => products.clearFilters());
  products.load();
  names.load();
  loadChart();
}

onReady(start);
