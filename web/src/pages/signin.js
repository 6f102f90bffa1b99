// The sign-in page: email and password for a session cookie, then back where the user was.
import { onReady, reporting } from "../lib/page.js";
import { signIn } from "../lib/session.js";

onReady(() => {
  const form = document.getElementById("signin-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    reporting(() => signIn(form.email.value, form.password.value)).finally(() => {
      button.disabled = false;
    });
  });
});
