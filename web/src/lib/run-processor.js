// "Run a processor on this file": a dialog with the processors, their params as JSON
// (prefilled with the schema's defaults), and the API's answer when they are refused.
import { api } from "./api.js";
import { element } from "./page.js";

/** The params a schema's top-level defaults make: {algorithms: ["sha256"]} for hash. */
export function defaultParams(schema) {
  const params = {};
  for (const [name, property] of Object.entries(schema?.properties || {})) {
    if (property && "default" in property) params[name] = property.default;
  }
  return params;
}

/** The text of a refused submission: the detail and each named problem. */
function refusalText(error) {
  const errors = Array.isArray(error.body?.errors) ? error.body.errors : [];
  const named = errors
    .filter((e) => !error.message.includes(e.msg))
    .map((e) => `${(e.loc || []).join(".")}: ${e.msg}`);
  return [error.message, ...named].join("\n");
}

/** A labelled field: a label above a control, linked by id. */
function field(id, text, control) {
  return element("div", {}, element("label", { for: id }, text), control);
}

/** The dialog's form controls, the processors as options. */
function controls(processors) {
  const choose = element(
    "select",
    { id: "run-processor", name: "processor", required: true, "aria-describedby": "run-about" },
    ...processors.map((p) => element("option", { value: p.name }, p.name)),
  );
  const params = element("textarea", {
    id: "run-params", name: "params", rows: "6", spellcheck: "false", 
  });
  const about = element("p", { id: "run-about", class: "notice", "aria-live": "polite" });
  const problem = element("p", { class: "problem", role: "alert", hidden: true });
  return { choose, params, about, problem };
}

/** Show the chosen processor's description and its default params. */
function describe(parts, processors) {
  const chosen = processors.find((p) => p.name === parts.choose.value);
  parts.about.textContent = chosen?.description || "";
  parts.params.value = JSON.stringify(defaultParams(chosen?.params_schema), null, 2);
}

/** Parse the params text: an object, or a message saying why it is not one. */
function readParams(text) {
  if (text.trim() === "") return { params: {} };
  try {
    const params = JSON.parse(text);
    if (params && typeof params === "object" && !Array.isArray(params)) return { params };
  } catch (error) {
    return { message: `Params (JSON) is not valid JSON: ${error.message}` };
  }
  return { message: "Params (JSON) must be a JSON object, like {}" };
}

/** Submit the job; on success go to its page, otherwise say why in the dialog. */
async function submit(parts, fileId, button) {
  const { params, message } = readParams(parts.params.value);
  const fail = (text) => { parts.problem.textContent = text; parts.problem.hidden = false; };
  if (message) return fail(message);
  button.disabled = true;
  try {
    const job = await api("/jobs", {
      method: "POST", json: { file_id: fileId, processor: parts.choose.value, params },
    });
    location.assign(`/jobs/${encodeURIComponent(job.id)}`);
  } catch (error) {
    fail(refusalText(error));
  } finally {
    button.disabled = false;
  }
}

/**
 * A dialog (appended to `parent`) that runs a processor on a file; `open(file)` shows it
 * for that file. `processors` is GET /processors' answer.
 */
export function runProcessorDialog(parent, processors) {
  const parts = controls(processors);
  const title = element("h2", { id: "run-title" }, "Run a processor");
  const run = element("button", { type: "submit" }, "Run");
  const close = element("button", { type: "button", class: "secondary" }, "Close");
  const form = element(
    "form", { class: "stacked", novalidate: true },
    field("run-processor", "Processor", parts.choose),
    parts.about,
    field("run-params", "Params (JSON)", parts.params),
    parts.problem,
    element("div", { class: "actions" }, run, close),
  );
  const dialog = element("dialog", { "aria-labelledby": "run-title", class: "run-dialog" }, title, form);
  let fileId = null;
  parts.choose.addEventListener("change", () => describe(parts, processors));
  close.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(parts, fileId, run); });
  parent.append(dialog);
  return {
    /** Show the dialog for `file`, with the chosen processor's default params. */
    open(file) {
      fileId = file.id;
      title.textContent = `Run a processor on ${file.filename}`;
      parts.problem.hidden = true;
      describe(parts, processors);
      dialog.showModal();
      parts.choose.focus();
    },
  };
}
