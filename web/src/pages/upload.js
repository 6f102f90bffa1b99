// The upload page.
import "../lib/page.js";
