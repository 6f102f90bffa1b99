// The job page.
import "../lib/page.js";
