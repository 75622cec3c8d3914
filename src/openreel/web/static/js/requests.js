// The request body of the active endpoint, from the form, the picked images and the brush
// editor; the page's own checks fail with a FieldError naming the field, as the server would.

import { FieldError } from "./api.js";
import { activeEndpoint } from "./errors.js";
import { toBase64 } from "./images.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

function newExternalId() {
  const random = crypto.getRandomValues(new Uint8Array(4));
  return `pg-${Date.now().toString(36)}-${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function text(body, name, id, limit, prefix) {
  const value = $(id).value;
  if (!value.trim()) return;
  // Characters as the server counts them (code points, not UTF-16 units: an emoji is one).
  const length = [...value].length;
  if (length > limit) {
    throw new FieldError(name, `${name}: must be at most ${limit} characters on ${prefix} (got ${length})`);
  }
  body[name] = value;
}

function modelName(id) {
  const value = $(id).value.trim();
  if (!value) throw new FieldError("model_name", "model_name: is required");
  return value;
}

/** An optional number field in ``[range.min, range.max]`` (nothing sent when empty). */
function number(body, name, id, range) {
  const raw = $(id).value.trim();
  if (raw === "") return;
  const value = Number(raw);
  if (!(value >= range.min && value <= range.max)) {
    throw new FieldError(name, `${name}: must be between ${range.min} and ${range.max}`);
  }
  body[name] = value;
}

function count(body, id, range) {
  const n = Number($(id).value);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new FieldError("n", `n: must be a whole number from ${range.min} to ${range.max}`);
  }
  body.n = n;
}

/** ``body[name]``: the picked images as ``[{item: base64}, ...]``, ``range.min`` to ``range.max``
 * of them; ``files`` gets the file name of each. */
function imageList(body, files, name, item, picked, range, prefix) {
  if (picked.length < range.min || picked.length > range.max) {
    throw new FieldError(name, `${name}: must hold ${range.min} to ${range.max} images on ${prefix}`);
  }
  body[name] = picked.map((image, i) => {
    files[`${name}[${i}].${item}`] = image.name;
    return { [item]: image.base64 };
  });
}

function requireImage(image, field, what) {
  if (!image) throw new FieldError(field, `${field}: pick ${what}`);
  return image;
}

/**
 * The request of the active endpoint: ``{endpoint, body, files, downloads, requestFile}``.
 * ``state``: the limits and the picked images; ``editor``: the motion-brush editor.
 */
export async function buildRequest(state, editor) {
  const { limits } = state;
  const endpoint = activeEndpoint();
  const rules = limits.endpoints[endpoint];
  const external = newExternalId();
  const tag = external.slice(-8);
  const body = { model_name: "" };
  const files = {};
  const downloads = [];
  const image = (field, picked) => {
    body[field] = picked.base64;
    files[field] = picked.name;
  };
  if (endpoint === "image2video") {
    body.model_name = modelName("#i2v-model");
    text(body, "prompt", "#i2v-prompt", rules.text.prompt, limits.prefix);
    text(body, "negative_prompt", "#i2v-negative", rules.text.negative_prompt, limits.prefix);
    body.mode = $("#i2v-mode").value;
    body.duration = $("#i2v-duration").value;
    number(body, "cfg_scale", "#i2v-cfg", rules.cfg_scale);
    const control = $('input[name="i2v-control"]:checked').value;
    if (state.i2v.image) image("image", state.i2v.image);
    else if (control !== "tail") requireImage(null, "image", "the first-frame image");
    if (control === "tail") image("image_tail", requireImage(state.i2v.tail, "image_tail", "the tail image"));
    if (control === "brush") {
      const masks = await editor.export();
      if (masks.static_mask) {
        body.static_mask = toBase64(masks.static_mask);
        files.static_mask = `static_mask_${tag}.png`;
        downloads.push({ name: files.static_mask, bytes: masks.static_mask, type: "image/png" });
      }
      if (masks.dynamic.length) {
        body.dynamic_masks = masks.dynamic.map((group, i) => {
          const name = `dynamic_mask_${i + 1}_${tag}.png`;
          files[`dynamic_masks[${i}].mask`] = name;
          downloads.push({ name, bytes: group.mask, type: "image/png" });
          return { mask: toBase64(group.mask), trajectories: group.trajectories };
        });
      }
    }
    if (control === "camera") {
      const type = $("#camera-type").value;
      const camera = { type };
      if (type === "simple") {
        camera.config = {};
        for (const input of $$("input[data-axis]")) {
          if (Number(input.value) !== 0) camera.config[input.dataset.axis] = Number(input.value);
        }
        if (Object.keys(camera.config).length !== 1) {
          throw new FieldError("camera_control", "camera_control: with type simple, move exactly one slider");
        }
      }
      body.camera_control = camera;
    }
  } else if (endpoint === "text2video") {
    body.model_name = modelName("#t2v-model");
    text(body, "prompt", "#t2v-prompt", rules.text.prompt, limits.prefix);
    if (!body.prompt) throw new FieldError("prompt", "prompt: is required for text2video");
    text(body, "negative_prompt", "#t2v-negative", rules.text.negative_prompt, limits.prefix);
    body.mode = $("#t2v-mode").value;
    body.duration = $("#t2v-duration").value;
    body.aspect_ratio = $("#t2v-aspect").value;
    number(body, "cfg_scale", "#t2v-cfg", rules.cfg_scale);
    const type = $("#t2v-camera-type").value;
    if (type !== "none") {
      body.camera_control = { type };
      if (type === "simple") {
        const amount = Number($("#t2v-camera-value").value);
        const range = rules.camera.fields[$("#t2v-camera-axis").value];
        if (!amount || amount < range.min || amount > range.max) {
          throw new FieldError(
            "camera_control",
            `camera_control: with type simple, the amount must be non-zero, from ${range.min} to ${range.max}`,
          );
        }
        body.camera_control.config = { [$("#t2v-camera-axis").value]: amount };
      }
    }
  } else if (endpoint === "image_generation") {
    body.model_name = modelName("#t2i-model");
    text(body, "prompt", "#t2i-prompt", rules.text.prompt, limits.prefix);
    text(body, "negative_prompt", "#t2i-negative", rules.text.negative_prompt, limits.prefix);
    if (state.t2i.image) image("image", state.t2i.image);
    if (!body.prompt && !body.image) {
      throw new FieldError("prompt", "prompt: is required without a reference image");
    }
    const reference = $("#t2i-reference").value;
    if (reference !== "none") body.image_reference = reference;
    number(body, "image_fidelity", "#t2i-fidelity", rules.image_fidelity);
    count(body, "#t2i-n", rules.n);
    body.aspect_ratio = $("#t2i-aspect").value;
    body.resolution = $("#t2i-resolution").value;
  } else if (endpoint === "multi_image2video") {
    body.model_name = modelName("#mi2v-model");
    imageList(body, files, "image_list", "image", state.mi2v, rules.images, limits.prefix);
    text(body, "prompt", "#mi2v-prompt", rules.text.prompt, limits.prefix);
    if (!body.prompt) throw new FieldError("prompt", "prompt: is required for multi-image2video");
    text(body, "negative_prompt", "#mi2v-negative", rules.text.negative_prompt, limits.prefix);
    body.mode = $("#mi2v-mode").value;
    body.duration = $("#mi2v-duration").value;
    body.aspect_ratio = $("#mi2v-aspect").value;
  } else {
    body.model_name = modelName("#mi2i-model");
    const subjects = state.mi2i.subjects;
    imageList(body, files, "subject_image_list", "subject_image", subjects, rules.images, limits.prefix);
    if (state.mi2i.scene) image("scene_image", state.mi2i.scene);
    if (state.mi2i.style) image("style_image", state.mi2i.style);
    text(body, "prompt", "#mi2i-prompt", rules.text.prompt, limits.prefix);
    text(body, "negative_prompt", "#mi2i-negative", rules.text.negative_prompt, limits.prefix);
    count(body, "#mi2i-n", rules.n);
    body.aspect_ratio = $("#mi2i-aspect").value;
    body.resolution = $("#mi2i-resolution").value;
  }
  body.external_task_id = external;
  const requestFile = `request_${tag}.json`;
  downloads.unshift({
    name: requestFile,
    bytes: new TextEncoder().encode(JSON.stringify(body)),
    type: "application/json",
  });
  return { endpoint, body, files, downloads, requestFile };
}
