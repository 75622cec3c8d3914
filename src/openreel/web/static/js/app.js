// The playground page: forms for the five endpoints, checks with the server's rules before
// sending, errors next to the field they name, and the task list.

import { SERVER, createTask, loadLimits, saveKey, savedKey } from "./api.js";
import { BrushEditor } from "./brush.js";
import { activeEndpoint, buildFields, clearErrors, fieldError, showError } from "./errors.js";
import { describeRules, loadImage } from "./images.js";
import { buildRequest } from "./requests.js";
import { curlCommand, pythonCall } from "./snippets.js";
import { TaskList } from "./tasks.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const state = {
  limits: null,
  i2v: { image: null, tail: null },
  mi2v: [],
  mi2i: { subjects: [], scene: null, style: null },
  t2i: { image: null },
};
let editor;
let tasks;

// ------------------------------------------------------------------ setup from the limits

function options(select, values, selected) {
  select.replaceChildren(
    ...values.map((value) => {
      const option = document.createElement("option");
      option.value = option.textContent = value;
      option.selected = value === selected;
      return option;
    }),
  );
}

function datalist(list, names) {
  list.replaceChildren(
    ...names.map((name) => {
      const option = document.createElement("option");
      option.value = name;
      return option;
    }),
  );
}

function combos(list) {
  return list.map(([mode, duration]) => `${mode} ${duration} s`).join(", ");
}

/** One form's model list and default, the choices of its selects and the ranges of its
 * numbers, from its endpoint's rules: the fields ``PREFIX-model``, ``-mode``, ... it has. */
function setupChoices(prefix, rules, custom) {
  const models = Array.isArray(rules.models) ? rules.models : Object.keys(rules.models);
  datalist($(`#${prefix}-models`), [...models, ...custom]);
  $(`#${prefix}-model`).value = rules.default_model;
  const choices = {
    mode: rules.modes,
    duration: rules.durations,
    aspect: rules.aspect_ratios,
    resolution: rules.resolutions,
  };
  for (const [name, values] of Object.entries(choices)) {
    const select = $(`#${prefix}-${name}`);
    if (select) options(select, values, values[0]);
  }
  const ranges = { cfg: rules.cfg_scale, n: rules.n, fidelity: rules.image_fidelity };
  for (const [name, range] of Object.entries(ranges)) {
    const input = $(`#${prefix}-${name}`);
    if (input) [input.min, input.max] = [range.min, range.max];
  }
}

function setupForms(limits) {
  const { image2video: i2v, multi_image2video: mi2v, multi_image2image: mi2i } = limits.endpoints;
  const custom = limits.custom_models;
  $("#image-rules").textContent = describeRules(limits.image);
  setupChoices("i2v", i2v, custom);
  setupChoices("mi2v", mi2v, custom);
  $("#mi2v-images-help").textContent =
    `${mi2v.images.min} to ${mi2v.images.max} images. ${describeRules(limits.image)}`;
  setupChoices("mi2i", mi2i, custom);
  $("#mi2i-subjects-help").textContent =
    `${mi2i.images.min} to ${mi2i.images.max} subject images: JPEG or PNG, each side at least ${limits.image.min_side} px.`;

  setupTextLed(limits);

  // Camera: the type list and one slider per axis, in the server's range.
  options($("#camera-type"), i2v.camera.types, i2v.camera.types[0]);
  const sliders = $("#camera-sliders");
  for (const [name, range] of Object.entries(i2v.camera.fields)) {
    const id = `camera-${name}`;
    const row = document.createElement("div");
    row.className = "slider";
    row.innerHTML = `<label for="${id}">${name}</label>
      <input id="${id}" type="range" min="${range.min}" max="${range.max}" step="0.5" value="0" data-axis="${name}">
      <output for="${id}">0</output>`;
    sliders.append(row);
  }
  for (const input of $$("input[data-axis]")) {
    input.addEventListener("input", () => {
      if ($("#camera-type").value === "simple" && Number(input.value) !== 0) {
        for (const other of $$("input[data-axis]")) if (other !== input) other.value = "0";
      }
      for (const each of $$("input[data-axis]")) each.nextElementSibling.textContent = each.value;
    });
  }
  $("#camera-type").addEventListener("change", syncCamera);
  syncCamera();

  editor = new BrushEditor(
    {
      canvas: $("#brush-canvas"),
      list: $("#brush-list"),
      add: $("#brush-add"),
      remove: $("#brush-remove"),
      size: $("#brush-size"),
      sizeOut: $("#brush-size-out"),
      undo: $("#brush-undo"),
      clear: $("#brush-clear"),
      clearPath: $("#brush-clear-path"),
      status: $("#brush-status"),
      empty: $("#brush-empty"),
      tools: $$('input[name="brush-tool"]'),
    },
    {
      maxDynamic: i2v.dynamic_masks.max,
      minPoints: i2v.trajectory_points.min,
      maxPoints: i2v.trajectory_points.max,
    },
  );
  $("#brush-canvas").hidden = true;
}

/** The text2video and text-to-image forms. */
function setupTextLed(limits) {
  const { text2video: t2v, image_generation: t2i } = limits.endpoints;
  setupChoices("t2v", t2v, limits.custom_models);
  options($("#t2v-camera-type"), ["none", ...t2v.camera.types], "none");
  options($("#t2v-camera-axis"), Object.keys(t2v.camera.fields), "zoom");
  const withCamera = Object.entries(t2v.models)
    .filter(([, rules]) => rules.camera_simple.length)
    .map(([name, rules]) => `${name} (${combos(rules.camera_simple)})`);
  $("#t2v-camera-help").textContent = withCamera.length
    ? `Kling models with camera control: ${withCamera.join("; ")}. Custom model names follow their engine.`
    : "";
  $("#t2v-camera-type").addEventListener("change", () => {
    $("#t2v-camera-simple").hidden = $("#t2v-camera-type").value !== "simple";
  });

  setupChoices("t2i", t2i, limits.custom_models);
  options($("#t2i-reference"), ["none", ...t2i.image_reference], "none");
}

function syncCamera() {
  const simple = $("#camera-type").value === "simple";
  for (const input of $$("input[data-axis]")) {
    input.disabled = !simple;
    if (!simple) {
      input.value = "0";
      input.nextElementSibling.textContent = "0";
    }
  }
}

const CONTROL_RULES = { tail: "tail", brush: "motion_brush", camera: "camera_simple" };

/** Show the panel of the chosen image2video control, which Kling models allow it, and a
 * one-click switch when the chosen Kling model, mode and duration do not. */
function syncControl() {
  const control = $('input[name="i2v-control"]:checked').value;
  for (const name of ["tail", "brush", "camera"]) $(`#panel-${name}`).hidden = control !== name;
  const models = state.limits.endpoints.image2video.models;
  const key = CONTROL_RULES[control];
  const hint = $("#control-hint");
  const fix = $("#control-fix");
  fix.hidden = true;
  if (!key) {
    hint.textContent = "";
    return;
  }
  const supported = Object.entries(models)
    .filter(([, rules]) => rules[key].length)
    .map(([name, rules]) => `${name} (${combos(rules[key])})`);
  hint.textContent = `Kling models with this control: ${supported.join("; ")}. Custom model names follow their engine.`;
  const model = $("#i2v-model").value.trim();
  const mode = $("#i2v-mode").value;
  const duration = $("#i2v-duration").value;
  const rules = models[model];
  if (!rules || rules[key].some(([m, d]) => m === mode && d === duration)) return;
  const target = rules[key].length
    ? [model, rules[key]]
    : Object.entries(models)
        .map(([other, r]) => [other, r[key]])
        .find(([, allowed]) => allowed.length);
  if (!target) return;
  const [name, allowed] = target;
  const [toMode, toDuration] = allowed.find(([m]) => m === mode) || allowed[0];
  fix.textContent = `Use ${name}, ${toMode}, ${toDuration} s`;
  fix.hidden = false;
  fix.onclick = () => {
    $("#i2v-model").value = name;
    $("#i2v-mode").value = toMode;
    $("#i2v-duration").value = toDuration;
    syncControl();
    $("#i2v-model").focus();
  };
}

function syncEndpoint() {
  const endpoint = activeEndpoint();
  for (const section of $$(".endpoint-form")) section.hidden = section.dataset.endpoint !== endpoint;
  clearErrors();
}

// ------------------------------------------------------------------ images

function describe(image) {
  return `${image.name}: ${image.width}x${image.height}, ${(image.bytes.length / 1024).toFixed(0)} KB`;
}

async function pickOne(input, field, aspect, store, infoId, errorId, after) {
  const file = input.files && input.files[0];
  fieldError(errorId, "");
  input.removeAttribute("aria-invalid");
  $(`#${infoId}`).textContent = "";
  store(null);
  if (!file) return;
  try {
    const image = await loadImage(file, field, state.limits.image, aspect);
    store(image);
    $(`#${infoId}`).textContent = describe(image);
    if (after) after(image);
  } catch (err) {
    input.value = "";
    input.setAttribute("aria-invalid", "true");
    fieldError(errorId, err.message);
  }
}

async function pickMany(input, list, field, item, aspect, max, errorId, render) {
  const files = [...(input.files || [])];
  input.value = "";
  fieldError(errorId, "");
  input.removeAttribute("aria-invalid");
  const problems = [];
  for (const file of files) {
    if (list.length >= max) {
      problems.push(`${field}: at most ${max} images`);
      break;
    }
    try {
      list.push(await loadImage(file, `${field}[${list.length}].${item}`, state.limits.image, aspect));
    } catch (err) {
      problems.push(`${file.name}: ${err.message}`);
    }
  }
  if (problems.length) {
    input.setAttribute("aria-invalid", "true");
    fieldError(errorId, problems.join(" "));
  }
  render();
}

function renderThumbs(listEl, images, rerender) {
  listEl.replaceChildren(
    ...images.map((image, index) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.src = image.url;
      img.alt = "";
      const text = document.createElement("span");
      text.textContent = describe(image);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${image.name}`);
      remove.addEventListener("click", () => {
        images.splice(index, 1);
        rerender();
      });
      li.append(img, text, remove);
      return li;
    }),
  );
}

function setupImages() {
  const { endpoints } = state.limits;
  const aspect = (endpoint, field) => endpoints[endpoint].aspect_rule[field] !== false;
  $("#i2v-image").addEventListener("change", (e) =>
    pickOne(
      e.target,
      "image",
      aspect("image2video", "image"),
      (v) => (state.i2v.image = v),
      "i2v-image-info",
      "err-i2v-image",
      (image) => editor.setImage(image),
    ),
  );
  $("#i2v-tail").addEventListener("change", (e) =>
    pickOne(
      e.target,
      "image_tail",
      aspect("image2video", "image_tail"),
      (v) => (state.i2v.tail = v),
      "i2v-tail-info",
      "err-i2v-tail",
    ),
  );
  $("#t2i-image").addEventListener("change", (e) =>
    pickOne(e.target, "image", true, (v) => (state.t2i.image = v), "t2i-image-info", "err-t2i-image"),
  );
  const renderMi2v = () => renderThumbs($("#mi2v-list"), state.mi2v, renderMi2v);
  $("#mi2v-images").addEventListener("change", (e) =>
    pickMany(
      e.target,
      state.mi2v,
      "image_list",
      "image",
      aspect("multi_image2video", "image_list"),
      endpoints.multi_image2video.images.max,
      "err-mi2v-images",
      renderMi2v,
    ),
  );
  const renderMi2i = () => renderThumbs($("#mi2i-list"), state.mi2i.subjects, renderMi2i);
  $("#mi2i-subjects").addEventListener("change", (e) =>
    pickMany(
      e.target,
      state.mi2i.subjects,
      "subject_image_list",
      "subject_image",
      aspect("multi_image2image", "subject_image_list"),
      endpoints.multi_image2image.images.max,
      "err-mi2i-subjects",
      renderMi2i,
    ),
  );
  for (const [id, field] of [
    ["mi2i-scene", "scene_image"],
    ["mi2i-style", "style_image"],
  ]) {
    const input = $(`#${id}`);
    input.addEventListener("change", () =>
      pickOne(
        input,
        field,
        aspect("multi_image2image", field),
        (v) => (state.mi2i[field.split("_")[0]] = v),
        `${id}-info`,
        `err-${id}`,
      ),
    );
  }
  // Drop zones hand the dropped files to their file input, which does the rest.
  for (const zone of $$(".drop")) {
    const input = document.getElementById(zone.dataset.dropFor);
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      const files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      const transfer = new DataTransfer();
      for (const file of input.multiple ? files : [files[0]]) transfer.items.add(file);
      input.files = transfer.files;
      input.dispatchEvent(new Event("change"));
    });
  }
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const status = $("#submit-status");
  // An empty key is sent as no header: a server started with --no-auth needs none.
  const key = $("#api-key").value.trim();
  const button = $("#submit");
  button.disabled = true;
  status.textContent = "Checking…";
  try {
    const request = await buildRequest(state, editor);
    status.textContent = "Sending…";
    const { limits } = state;
    const path = limits.endpoints[request.endpoint].path;
    const data = await createTask(limits.prefix, path, key, request.body);
    const snippet = { ...request, server: SERVER, prefix: limits.prefix, path };
    tasks.add({
      id: data.task_id,
      endpoint: request.endpoint,
      created_at: data.created_at,
      data,
      curl: curlCommand(snippet),
      python: pythonCall(snippet),
      downloads: request.downloads,
    });
    status.textContent = `Task ${data.task_id} created.`;
  } catch (err) {
    status.textContent = "";
    showError(err);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ start

async function start() {
  buildFields();
  const keyInput = $("#api-key");
  keyInput.value = savedKey();
  keyInput.addEventListener("input", () => saveKey(keyInput.value.trim()));
  keyInput.addEventListener("change", () => tasks && tasks.refresh().catch((err) => showError(err, false)));
  $("#api-key-toggle").addEventListener("click", (event) => {
    const show = keyInput.type === "password";
    keyInput.type = show ? "text" : "password";
    event.target.textContent = show ? "Hide" : "Show";
    event.target.setAttribute("aria-pressed", String(show));
  });
  try {
    state.limits = await loadLimits();
  } catch (err) {
    $("#form-error").textContent = `Cannot load the server's rules: ${err.message}`;
    return;
  }
  setupForms(state.limits);
  setupImages();
  for (const radio of $$('input[name="endpoint"]')) radio.addEventListener("change", syncEndpoint);
  for (const radio of $$('input[name="i2v-control"]')) radio.addEventListener("change", syncControl);
  for (const id of ["#i2v-model", "#i2v-mode", "#i2v-duration"]) $(id).addEventListener("input", syncControl);
  syncEndpoint();
  syncControl();
  $("#request-form").addEventListener("submit", submit);
  tasks = new TaskList(
    $("#tasks"),
    state.limits,
    () => keyInput.value.trim(),
    (err) => showError(err, false),
  );
  $("#refresh-tasks").addEventListener("click", () => tasks.refresh().catch((err) => showError(err, false)));
  if (keyInput.value) tasks.refresh().catch((err) => showError(err, false));
  document.body.dataset.ready = "true";
}

start();
