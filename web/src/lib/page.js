// What every page does: the sign-out button, showing problems, and small formatting helpers.
import { ApiError, api } from "./api.js";
import "../style.css";

/** Show `message` (an error, or its text) in the page's alert area; hide it with null. */
export function showProblem(message) {
  const area = document.getElementById("problem");
  if (!area) return;
  if (message === null) {
    area.hidden = true;
    area.textContent = "";
    return;
  }
  area.textContent = message instanceof Error ? message.message : String(message);
  area.hidden = false;
}

/** Run `action`, showing what went wrong instead of throwing it. */
export async function reporting(action) {
  try {
    showProblem(null);
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError)) console.warn(error);
    showProblem(error);
    return undefined;
  }
}

/** A byte count in binary units: `12.5 MiB`. */
export function human(size) {
  if (size === null || size === undefined) return "";
  let value = size;
  for (const unit of ["B", "KiB", "MiB", "GiB", "TiB"]) {
    if (value < 1024 || unit === "TiB") {
      return unit === "B" ? `${value} B` : `${value.toFixed(1)} ${unit}`;
    }
    value /= 1024;
  }
  return `${size} B`;
}

/** A timestamp as the reader's local date and time. */
export function when(text) {
  return text ? new Date(text).toLocaleString() : "";
}

/** An element with attributes and children (text or elements). */
export function element(tag, attributes = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) made.addEventListener(name.slice(2), value);
    else made.setAttribute(name, value === true ? "" : value);
  }
  made.append(...children.filter((child) => child !== null && child !== undefined));
  return made;
}

/** Run `start` once the document is ready. */
export function onReady(start) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}

onReady(() => {
  const signOut = document.getElementById("sign-out");
  signOut?.addEventListener("click", () =>
    reporting(async () => {
      await api("/auth/browser-session", { method: "DELETE" });
      location.assign("/signin");
    }),
  );
});
