// The curl command and the Python SDK call equivalent to a request made in the page.
//
// Both send the same JSON body: curl posts the downloadable request file as is; the Python
// call names the same image files (and the downloadable mask files) and the same
// external_task_id, and the SDK builds the same body from them (openreel/sdk/bodies.py), so
// running it returns the task made here instead of a second one.

/** A Python literal for a JSON-like value (JSON string escapes are valid in Python). */
export function py(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(py).join(", ")}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}: ${py(v)}`)
    .join(", ")}}`;
}

function shellQuote(text) {
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}

export function curlCommand({ server, prefix, path, requestFile }) {
  return [
    `curl --request POST --url ${shellQuote(`${server}${prefix}/${path}`)} \\`,
    `  --header "Authorization: Bearer $OPENREEL_API_KEY" \\`,
    `  --header 'Content-Type: application/json' \\`,
    `  --data @${shellQuote(requestFile)}`,
  ].join("\n");
}

const PLAIN = [
  "model_name",
  "prompt",
  "negative_prompt",
  "mode",
  "duration",
  "cfg_scale",
  "aspect_ratio",
  "n",
  "resolution",
  "image_reference",
  "image_fidelity",
];

// The SDK method of each endpoint (text-to-image is ``client.images``).
const METHODS = { image_generation: "images" };
const IMAGE_ENDPOINTS = new Set(["multi_image2image", "image_generation"]);

function kwargs(body, names) {
  return names
    .filter((name) => body[name] !== undefined && body[name] !== null)
    .map((name) => [name, py(body[name])]);
}

/**
 * @param {object} request  {endpoint, server, body, files} where ``files`` maps a body field
 *   path (``image``, ``dynamic_masks[0].mask``, ``image_list[1].image``...) to a file name.
 */
export function pythonCall({ endpoint, server, body, files }) {
  let first;
  let args = [];
  const file = (path) => py(files[path]);
  if (endpoint === "image2video") {
    first = body.image !== undefined ? file("image") : null;
    args = kwargs(body, PLAIN);
    if (body.image_tail !== undefined) args.push(["image_tail", file("image_tail")]);
    if (body.static_mask !== undefined) args.push(["static_mask", file("static_mask")]);
    if (body.dynamic_masks) {
      const groups = body.dynamic_masks.map((group, i) => {
        const points = group.trajectories.map((p) => `(${p.x}, ${p.y})`).join(", ");
        return `        {"mask": ${file(`dynamic_masks[${i}].mask`)}, "trajectories": [${points}]},`;
      });
      args.push(["dynamic_masks", `[\n${groups.join("\n")}\n    ]`]);
    }
    if (body.camera_control !== undefined) args.push(["camera_control", py(body.camera_control)]);
  } else if (endpoint === "text2video") {
    first = body.prompt !== undefined ? py(body.prompt) : null;
    args = kwargs(body, PLAIN.filter((name) => name !== "prompt"));
    if (body.camera_control !== undefined) args.push(["camera_control", py(body.camera_control)]);
  } else if (endpoint === "image_generation") {
    first = body.prompt !== undefined ? py(body.prompt) : null;
    args = kwargs(body, PLAIN.filter((name) => name !== "prompt"));
    if (body.image !== undefined) args.push(["image", file("image")]);
  } else if (endpoint === "multi_image2video") {
    first = py(body.image_list.map((_, i) => files[`image_list[${i}].image`]));
    args = kwargs(body, PLAIN);
  } else {
    first = py(body.subject_image_list.map((_, i) => files[`subject_image_list[${i}].subject_image`]));
    args = kwargs(body, PLAIN);
    if (body.scene_image !== undefined) args.push(["scene", file("scene_image")]);
    if (body.style_image !== undefined) args.push(["style", file("style_image")]);
  }
  if (body.external_task_id !== undefined) args.push(["external_task_id", py(body.external_task_id)]);
  const lines = [];
  if (first !== null) lines.push(`    ${first},`);
  for (const [name, value] of args) lines.push(`    ${name}=${value},`);
  const output = IMAGE_ENDPOINTS.has(endpoint) ? '"results"' : '"result.mp4"';
  return [
    "import os",
    "",
    "from openreel import Client",
    "",
    `client = Client(${py(server)}, api_key=os.environ["OPENREEL_API_KEY"])`,
    "# Same external_task_id as the page's request: this returns that task (drop it for a new one).",
    `task = client.${METHODS[endpoint] || endpoint}(`,
    ...lines,
    ")",
    "task = client.wait(task, on_progress=lambda t: print(t.task_status, t.progress))",
    `print(task.task_id, client.download(task, ${output}))`,
    "",
  ].join("\n");
}
