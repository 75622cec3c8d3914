// The form's fields and the errors next to the field they name: a Kling message starts with
// the field path ("image_list[1].image: ..."); the page's own checks use the same form.

import { FieldError } from "./api.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export function activeEndpoint() {
  return $('input[name="endpoint"]:checked').value;
}

function activeSection() {
  return $(`#form-${activeEndpoint()}`);
}

/** ``dynamic_masks[0].trajectories[1]`` -> itself, ``...trajectories``, ``dynamic_masks[0]``, ``dynamic_masks``. */
function candidates(field) {
  const out = [field];
  let rest = field;
  while (/[.[]/.test(rest)) {
    rest = rest.replace(/(\.[^.[\]]*|\[\d+\])$/, "");
    out.push(rest);
  }
  return out;
}

function slotFor(field) {
  if (!field) return null;
  if (field === "Authorization") return $(".key-field");
  const roots = [activeSection(), document];
  for (const name of candidates(field)) {
    for (const root of roots) {
      const slot = root.querySelector(`[data-fields~="${CSS.escape(name)}"]`);
      if (slot && !slot.closest("[hidden]")) return slot;
    }
  }
  return null;
}

export function clearErrors() {
  for (const node of $$(".field-error, .form-error")) node.textContent = "";
  for (const node of $$("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

const KEY_HINT = "enter the API key the server printed (or one from 'openreel keys create')";

/** The message to show: a missing key (1001) says where a key comes from, whichever call
 * (a create, the task list's refresh) met it first. */
function explain(err) {
  const message = err.message || String(err);
  if (err instanceof FieldError && err.code === 1001 && !message.includes(KEY_HINT)) {
    return `${message}: ${KEY_HINT}`;
  }
  return message;
}

export function showError(err, focus = true) {
  const message = explain(err);
  const slot = err instanceof FieldError ? slotFor(err.field) : null;
  if (!slot) {
    $("#form-error").textContent = message;
    return;
  }
  slot.querySelector(".field-error").textContent = message;
  // The canvas for brush errors, else the field's first control.
  const input = slot.querySelector("canvas") || slot.querySelector("input, textarea, select");
  if (input) {
    input.setAttribute("aria-invalid", "true");
    if (focus) input.focus({ preventScroll: false });
  }
}

export function fieldError(slotId, message) {
  const node = document.getElementById(slotId);
  if (node) node.textContent = message;
}

// ------------------------------------------------------------------ field markup

const CONTROLS = {
  model: (id) =>
    `<input id="${id}" list="${id}s" autocomplete="off"><datalist id="${id}s"></datalist>`,
  select: (id) => `<select id="${id}"></select>`,
  text: (id, data) => `<textarea id="${id}" rows="${data.rows || 1}"></textarea>`,
  number: (id, data) =>
    `<input id="${id}" type="number" step="${data.step}"` +
    (data.value ? ` value="${data.value}"` : "") +
    (Number.isInteger(Number(data.step)) ? "" : ' inputmode="decimal"') +
    ">",
  image: (id) => `<div class="drop" data-drop-for="${id}">
    <input id="${id}" type="file" accept="image/png,image/jpeg">
    <span class="drop-hint">or drop a JPEG/PNG here</span></div>`,
};

/**
 * Fills in every ``.field[data-control]`` of the page: its label (``data-label``, with
 * ``data-note`` in muted brackets), the control (``data-control``: one of CONTROLS, id
 * ``data-id``) and its error slot ``err-ID``, plus ``ID-info`` under an image. What the field
 * already holds (help text) stays between the control and the error; ``data-describedby``
 * names more descriptions of the control.
 */
export function buildFields() {
  for (const field of $$(".field[data-control]")) {
    const { id, control, label, note, describedby } = field.dataset;
    const kept = [...field.childNodes];
    const muted = note ? ` <span class="muted">(${note})</span>` : "";
    field.innerHTML = `<label for="${id}">${label}${muted}</label>${CONTROLS[control](id, field.dataset)}`;
    field.append(...kept);
    const error = document.createElement("p");
    error.className = "field-error";
    error.id = `err-${id}`;
    error.setAttribute("role", "alert");
    field.append(error);
    if (control === "image") {
      const info = document.createElement("p");
      info.className = "file-info";
      info.id = `${id}-info`;
      field.append(info);
    }
    const described = [describedby, error.id].filter(Boolean).join(" ");
    document.getElementById(id).setAttribute("aria-describedby", described);
  }
}
