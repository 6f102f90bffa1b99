// The jobs page.
import "../lib/page.js";
