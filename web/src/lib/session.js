// Signing in from the pages: the session cookie, then back where the user was going.
import { api } from "./api.js";

/** Where to go after signing in: the page that sent the user here, if it is one of ours. */
export function nextPage() {
  const wanted = new URLSearchParams(location.search).get("next") || "/";
  return wanted.startsWith("/") && !wanted.startsWith("//") ? wanted : "/";
}

/** Sign in with `email` and `password` and go on to `nextPage()`. */
export async function signIn(email, password) {
  await api("/auth/browser-session", { method: "POST", json: { email, password }, signedOut: true });
  location.assign(nextPage());
}
