// The files page.
import "../lib/page.js";
