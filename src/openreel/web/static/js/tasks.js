// The task list: live status and progress, the result (video player or image gallery) with
// downloads, and for requests made here the equivalent curl command and Python call.

import { FieldError, getTask, listTasks } from "./api.js";

const STORAGE = "openreel.tasks";
const KEEP = 30;
const POLL_MS = 1000;
const TERMINAL = new Set(["succeed", "failed"]);
const LABELS = {
  image2video: "image2video",
  text2video: "text2video",
  multi_image2video: "multi-image2video",
  image_generation: "text-to-image",
  multi_image2image: "multi-image-to-image",
};

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure context (plain http on a LAN address): the old way.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const before = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = before), 1500);
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export class TaskList {
  constructor(root, limits, getKey, onAuthError) {
    this.root = root;
    this.limits = limits;
    this.getKey = getKey;
    this.onAuthError = onAuthError;
    this.entries = new Map();
    this.timer = null;
    for (const saved of this.load()) this.add(saved, false);
  }

  load() {
    try {
      return JSON.parse(window.localStorage.getItem(STORAGE) || "[]");
    } catch {
      return [];
    }
  }

  save() {
    const kept = [...this.entries.values()]
      .filter((e) => e.curl)
      .sort((a, b) => b.created_at - a.created_at)
      .slice(0, KEEP)
      .map(({ id, endpoint, created_at, curl, python }) => ({ id, endpoint, created_at, curl, python }));
    try {
      window.localStorage.setItem(STORAGE, JSON.stringify(kept));
    } catch {
      // Storage full or disabled: the list still works for this visit.
    }
  }

  path(endpoint) {
    return this.limits.endpoints[endpoint].path;
  }

  /** Add (or update) a task. ``entry``: {id, endpoint, created_at, data?, curl?, python?, downloads?}. */
  add(entry, persist = true) {
    const known = this.entries.get(entry.id);
    if (known) {
      if (entry.data) this.apply(known, entry.data);
      return known;
    }
    const item = { status: "submitted", progress: 0, ...entry };
    item.node = this.build(item);
    this.entries.set(item.id, item);
    const after = [...this.root.children].find((li) => Number(li.dataset.created) < item.created_at);
    this.root.insertBefore(item.node, after || null);
    if (entry.data) this.apply(item, entry.data);
    if (persist) this.save();
    this.schedule();
    return item;
  }

  build(item) {
    const status = el("span", { class: "badge" }, item.status);
    const progress = el("progress", { max: "100", value: "0" });
    const label = `Progress of task ${item.id}`;
    progress.setAttribute("aria-label", label);
    const percent = el("span", { class: "pct" }, "0%");
    const message = el("p", { class: "task-msg" });
    const result = el("div", { class: "result" });
    const node = el(
      "li",
      { class: "task", dataset: { taskId: item.id, created: String(item.created_at || 0) } },
      el(
        "div",
        { class: "task-head" },
        el("strong", {}, LABELS[item.endpoint] || item.endpoint),
        el("code", { class: "task-id" }, item.id),
        status,
      ),
      el("div", { class: "row progress-row" }, progress, percent),
      message,
      result,
    );
    Object.assign(item, {
      statusEl: status,
      progressEl: progress,
      percentEl: percent,
      messageEl: message,
      resultEl: result,
    });
    if (item.curl) node.append(this.snippets(item));
    return node;
  }

  snippets(item) {
    const block = (title, text, name) => {
      const code = el("code", { class: `snippet-${name}` }, text);
      const button = el("button", { type: "button", class: "copy" }, `Copy ${title}`);
      button.addEventListener("click", () => copyText(text, button));
      return el(
        "div",
        { class: "snippet" },
        el("div", { class: "row between" }, el("h4", {}, title), button),
        el("pre", {}, code),
      );
    };
    const details = el(
      "details",
      { class: "snippets" },
      el("summary", {}, "Equivalent curl command and Python SDK call"),
      block("curl", item.curl, "curl"),
      block("Python", item.python, "python"),
    );
    if (item.downloads && item.downloads.length) {
      const list = el("ul", { class: "downloads" });
      for (const file of item.downloads) {
        const url = URL.createObjectURL(new Blob([file.bytes], { type: file.type }));
        list.append(el("li", {}, el("a", { href: url, download: file.name }, `Download ${file.name}`)));
      }
      details.append(el("p", { class: "help" }, "Files the commands read (the images are yours):"), list);
    } else {
      details.append(
        el("p", { class: "help" }, "The request and mask files were offered when the task was made."),
      );
    }
    return details;
  }

  apply(item, data) {
    item.data = data;
    item.status = data.task_status;
    item.progress = data.progress ?? (item.status === "succeed" ? 100 : 0);
    this.update(item);
  }

  update(item) {
    if (item.node.dataset.status !== item.status) {
      const announce = document.getElementById("task-announce");
      if (announce && item.node.dataset.status) announce.textContent = `Task ${item.id}: ${item.status}`;
    }
    item.node.dataset.status = item.status;
    item.statusEl.textContent = item.status;
    item.statusEl.className = `badge ${item.status}`;
    item.progressEl.value = item.progress;
    item.percentEl.textContent = `${item.progress}%`;
    const data = item.data;
    if (data && data.task_status === "failed") item.messageEl.textContent = data.task_status_msg || "failed";
    else if (data && data.queue_position !== undefined)
      item.messageEl.textContent = `queue position ${data.queue_position}`;
    else item.messageEl.textContent = "";
    if (data && data.task_status === "succeed" && !item.resultShown) {
      item.resultShown = true;
      this.showResult(item, data.task_result || {});
    }
  }

  showResult(item, result) {
    const box = item.resultEl;
    box.replaceChildren();
    for (const video of result.videos || []) {
      box.append(
        el("video", {
          controls: true,
          preload: "metadata",
          playsInline: true,
          src: video.url,
          "aria-label": `Video of task ${item.id}`,
        }),
        el(
          "p",
          {},
          el(
            "a",
            { href: video.url, download: `${item.id}.mp4`, class: "download" },
            `Download MP4 (${video.duration} s)`,
          ),
        ),
      );
    }
    const images = (result.images || []).slice().sort((a, b) => a.index - b.index);
    if (images.length) {
      const gallery = el("ul", { class: "gallery" });
      for (const image of images) {
        gallery.append(
          el(
            "li",
            {},
            el(
              "a",
              { href: image.url, target: "_blank", rel: "noopener" },
              el("img", { src: image.url, alt: `Result image ${image.index + 1} of task ${item.id}` }),
            ),
            el(
              "a",
              { href: image.url, download: `${item.id}-${image.index}.png`, class: "download" },
              `Download image ${image.index + 1}`,
            ),
          ),
        );
      }
      box.append(gallery);
    }
  }

  schedule() {
    if (this.timer === null) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  async poll() {
    this.timer = null;
    const key = this.getKey();
    const pending = [...this.entries.values()].filter((e) => !TERMINAL.has(e.status));
    if (!pending.length) return;
    await Promise.all(
      pending.map(async (item) => {
        try {
          this.apply(item, await getTask(this.limits.prefix, this.path(item.endpoint), key, item.id));
        } catch (err) {
          if (err instanceof FieldError && err.field === "Authorization") {
            this.onAuthError(err);
          } else if (err instanceof FieldError && err.status === 404) {
            item.status = "failed";
            item.messageEl.textContent = "not found for this API key";
            this.update(item);
          }
        }
      }),
    );
    this.schedule();
  }

  /** Merge the newest tasks of every endpoint from the server (made anywhere with this key). */
  async refresh() {
    const key = this.getKey();
    for (const endpoint of Object.keys(this.limits.endpoints)) {
      const tasks = await listTasks(this.limits.prefix, this.path(endpoint), key);
      for (const data of tasks) {
        this.add({ id: data.task_id, endpoint, created_at: data.created_at, data }, false);
      }
    }
    this.schedule();
  }
}
