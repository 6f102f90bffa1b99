// Talking to lfp's API from the pages: the session cookie, the CSRF token, problem details.

const BASE = "/api/v1";

/** An API answer that was not a success: its status and the problem's `detail`. */
export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.status = status;
    this.body = body;
  }
}

/** The session's CSRF token, which every change must send back in X-CSRF-Token. */
export function csrfToken() {
  const found = document.cookie.split("; ").find((part) => part.startsWith("lfp_csrf="));
  return found ? decodeURIComponent(found.slice("lfp_csrf=".length)) : "";
}

/** The headers every request of the pages carries. */
export function apiHeaders(extra = {}) {
  return { "X-CSRF-Token": csrfToken(), ...extra };
}

/** The URL of an API path, for links (downloads) and EventSource. */
export function apiUrl(path, params) {
  const query = params ? `?${new URLSearchParams(params)}` : "";
  return `${BASE}${path}${query}`;
}

/** Send the user to the sign-in page, to come back here afterwards. */
export function signInAgain() {
  const here = location.pathname + location.search;
  location.assign(`/signin?next=${encodeURIComponent(here)}`);
}

/**
 * Call the API: `json` is sent as the body; the answer's JSON is returned (null for 204).
 * A failure throws ApiError with the problem's `detail`; a lost session goes to sign-in
 * unless `signedOut` says the page expects none.
 */
export async function api(path, { method = "GET", json, params, signedOut = false } = {}) {
  const headers = apiHeaders(json === undefined ? {} : { "Content-Type": "application/json" });
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      method,
      headers,
      credentials: "same-origin",
      body: json === undefined ? undefined : JSON.stringify(json),
    });
  } catch (error) {
    throw new ApiError(0, `the server cannot be reached (${error.message}); try again`);
  }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && !signedOut) signInAgain();
    throw new ApiError(response.status, problemText(response, body), body);
  }
  return body;
}

function problemText(response, body) {
  if (body && typeof body.detail === "string") return body.detail;
  return `the server answered ${response.status} ${response.statusText}`;
}
