// A form for a processor's params, generated from its JSON schema by json-editor.
//
// Only json-editor's plain "html" theme is used, with no icon library and none of its
// CDN-loaded styling frameworks: the page talks to no host but the lfp server.
import { JSONEditor } from "@json-editor/json-editor";

/** json-editor's options: plain HTML, no icons, no JSON/property editors, no collapsing. */
const OPTIONS = {
  theme: "html",
  iconlib: null,
  template: "default",
  disable_edit_json: true,
  disable_properties: true,
  disable_collapse: true,
  disable_array_reorder: true,
  disable_array_delete_all_rows: true,
  disable_array_delete_last_row: false,
  array_controls_top: false,
  prompt_before_delete: false,
  no_additional_properties: true,
  required_by_default: false,
  use_default_values: true,
  show_errors: "interaction",
  compact: false,
};

/** A list property's items named after it ("Algorithms": "Algorithm 1", "Add Algorithm"),
 * unless they are a $ref or have a title of their own. */
function titledItems(property) {
  const items = property?.items;
  if (property?.type !== "array" || !items || items.$ref || items.title) return property;
  const title = (property.title || "item").replace(/s$/, "");
  return { ...property, items: { ...items, title } };
}

/** The schema with a readable title for the form's heading (pydantic names the model). */
function titled(schema, name) {
  const properties = Object.fromEntries(
    Object.entries(schema.properties || {}).map(([key, value]) => [key, titledItems(value)]),
  );
  return { ...schema, title: `Params of ${name}`, properties };
}

/** Give every input json-editor made without a label one, from its schema path. */
function labelAll(holder) {
  for (const input of holder.querySelectorAll("input, select, textarea")) {
    if (input.labels && input.labels.length > 0) continue;
    if (input.getAttribute("aria-label")) continue;
    const container = input.closest("[data-schemapath]");
    const path = container ? container.getAttribute("data-schemapath") : input.name;
    input.setAttribute("aria-label", (path || "value").replace(/^root\.?/, "") || "value");
  }
}

/** Point every field at its description and at the error message json-editor shows. */
function describeFields(holder) {
  holder.querySelectorAll(".form-control").forEach((group, index) => {
    const input = group.querySelector(":scope > input, :scope > select, :scope > textarea");
    if (!input) return;
    const notes = [...group.querySelectorAll(":scope > p, :scope > .errmsg")].filter(
      (note) => note.style.display !== "none",
    );
    notes.forEach((note, n) => {
      note.id ||= `param-note-${index}-${n}`;
    });
    if (notes.length) input.setAttribute("aria-describedby", notes.map((n) => n.id).join(" "));
    else input.removeAttribute("aria-describedby");
  });
}

/** The validation problems of `editor`'s current value, as readable lines. */
function problems(editor) {
  return editor.validate(editor.getValue()).map((error) => {
    const where = error.path.replace(/^root\.?/, "");
    return where ? `${where}: ${error.message}` : error.message;
  });
}

/**
 * Build the params form of processor `name` from `schema` into `holder`.
 * Resolves, once the form is ready, to {value(), problems(), showErrors(), destroy()}.
 */
export function paramsForm(holder, name, schema) {
  holder.replaceChildren();
  const editor = new JSONEditor(holder, { ...OPTIONS, schema: titled(schema, name) });
  const tidy = () => {
    labelAll(holder);
    describeFields(holder);
  };
  return new Promise((resolve) => {
    editor.on("ready", () => {
      tidy();
      editor.on("change", tidy);
      resolve({
        value: () => editor.getValue(),
        problems: () => problems(editor),
        showErrors: () => editor.setOption("show_errors", "always"),
        destroy: () => {
          editor.destroy();
          holder.replaceChildren();
        },
      });
    });
  });
}
