// Talking to the openreel server: the limits document, task calls, and Kling error bodies.

const KEY_STORAGE = "openreel.apiKey";

/** Base URL of the server that served this page (the page lives at its root). */
export const SERVER = new URL(".", window.location.href).href.replace(/\/$/, "");

export function savedKey() {
  try {
    return window.localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function saveKey(value) {
  try {
    if (value) window.localStorage.setItem(KEY_STORAGE, value);
    else window.localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled (private mode): the key lives in the input only.
  }
}

/** A failure that belongs to one request field (``field`` may be "" for the whole form). */
export class FieldError extends Error {
  constructor(field, message, status = 0, code = 0) {
    super(message);
    this.field = field;
    this.status = status;
    this.code = code;
  }
}

const FIELD_PREFIX = /^([A-Za-z_][\w.[\]]*): /;

/** Kling messages start with the field they are about: ``image_list[1].image: ...``. */
export function fieldOf(message) {
  const match = FIELD_PREFIX.exec(message || "");
  return match ? match[1] : "";
}

async function call(method, path, key, body) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`${SERVER}/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new FieldError("", `cannot reach the server (${err.message})`);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok || !payload || payload.code !== 0) {
    const message = (payload && payload.message) || `HTTP ${response.status}`;
    const code = (payload && payload.code) || 0;
    // Authentication failures (1000s) are about the key, whatever the message says.
    const field = code >= 1000 && code < 1100 ? "Authorization" : fieldOf(message);
    throw new FieldError(field, message, response.status, code);
  }
  return payload.data;
}

export async function loadLimits() {
  const response = await fetch(`${SERVER}/openreel/v1/limits`);
  if (!response.ok) throw new Error(`limits: HTTP ${response.status}`);
  return response.json();
}

export const createTask = (prefix, path, key, body) => call("POST", `${prefix.slice(1)}/${path}`, key, body);
export const getTask = (prefix, path, key, id) =>
  call("GET", `${prefix.slice(1)}/${path}/${encodeURIComponent(id)}`, key);
export const listTasks = (prefix, path, key, pageSize = 20) =>
  call("GET", `${prefix.slice(1)}/${path}?pageNum=1&pageSize=${pageSize}`, key);
