// The sign-up page: a new account, then signed in with it.
import { api } from "../lib/api.js";
import { onReady, reporting, showProblem } from "../lib/page.js";
import { signIn } from "../lib/session.js";

onReady(() => {
  const form = document.getElementById("signup-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.password.value !== form.repeat.value) {
      showProblem("the two passwords differ");
      form.repeat.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    reporting(async () => {
      const account = { email: form.email.value, password: form.password.value };
      await api("/auth/signup", { method: "POST", json: account, signedOut: true });
      await signIn(account.email, account.password);
    }).finally(() => {
      button.disabled = false;
    });
  });
});
