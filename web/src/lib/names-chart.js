// The bar chart of the names with the most products, drawn with chart.js. The products
// page loads this module on its own, so its tables do not wait for chart.js.
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

/** A name short enough for the chart's axis (the table shows it whole). */
function shortName(name) {
  return name.length > 24 ? `${name.slice(0, 23)}…` : name;
}

/** The canvas's text alternative: what the chart shows, largest first. */
export function chartLabel(items) {
  if (items.length === 0) return "Bar chart of products per name: there are no products yet";
  const bars = items.map((item) => `${item.name}: ${item.count}`).join("; ");
  return `Bar chart of the ${items.length} names with the most products, largest first. ${bars}`;
}

/** Draw the bar chart of `items` (names and counts, largest first) on `canvas`. */
export function drawChart(canvas, items) {
  canvas.setAttribute("aria-label", chartLabel(items));
  Chart.defaults.color = "#1d232b";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: items.map((item) => shortName(item.name)),
      datasets: [
        { label: "Products", data: items.map((item) => item.count), backgroundColor: "#0b5cad" },
      ],
    },
    options: {
      indexAxis: "y",
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { tooltip: { callbacks: { title: (bars) => items[bars[0].dataIndex].name } } },
    },
  });
}
