// The products page.
import "../lib/page.js";
