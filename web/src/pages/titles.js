// The titles page.
import "../lib/page.js";
