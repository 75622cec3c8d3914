// The motion-brush editor: one static brush and up to N dynamic brushes painted over the
// first-frame image, each dynamic brush with a trajectory.
//
// Masks are kept as one byte per *image* pixel (1 = painted) and exported as PNGs of the
// image's own size, white where painted and black elsewhere, so the server (and the classic
// engine, which thresholds at half grey) reads exactly what was painted. Strokes are
// rasterised here, without the canvas' anti-aliasing: a pixel is painted when its centre is
// within half the brush size of the stroke.
//
// Trajectory points are stored as image pixels (column, row from the top) and exported in
// Kling's convention, origin at the bottom-left: {x: column, y: height - 1 - row}, the
// inverse of what the server's engine does (engines/classic/motion_brush.py).

import { FieldError } from "./api.js";
import { maskPng, paintOverlay, stampCapsule } from "./masks.js";

const COLORS = ["#2563eb", "#ea580c", "#16a34a", "#c026d3", "#ca8a04", "#0891b2", "#dc2626"];
const MAX_DISPLAY = 1600; // display canvas width cap (the masks keep full resolution)
const UNDO_DEPTH = 25;

export class BrushEditor {
  /**
   * @param {object} els  canvas, list, add, remove, size, sizeOut, undo, clear, clearPath,
   *                      status, empty, tools (radio inputs)
   * @param {{maxDynamic: number, minPoints: number, maxPoints: number}} limits
   */
  constructor(els, limits) {
    this.els = els;
    this.limits = limits;
    this.ctx = els.canvas.getContext("2d");
    this.image = null;
    this.brushes = [];
    this.active = 0;
    this.tool = "paint";
    this.cursor = null;
    this.cursorShown = false;
    this.undoStack = [];
    this.stroke = null; // {last: [x, y]} while painting
    this.pathDrag = null; // {last: [x, y]} while drawing a trajectory freehand
    this.spaceDown = false;
    this.bind();
    this.renderList();
    this.updateButtons();
  }

  // ------------------------------------------------------------------ image and brushes

  setImage(image) {
    const same = this.image && this.image.width === image.width && this.image.height === image.height;
    this.image = image;
    const { canvas } = this.els;
    const width = Math.min(image.width, MAX_DISPLAY);
    canvas.width = width;
    canvas.height = Math.max(1, Math.round((image.height * width) / image.width));
    this.scale = width / image.width; // display px per image px
    if (!same) {
      this.brushes = [];
      this.undoStack = [];
      this.addBrush("static");
      this.addBrush("dynamic");
      this.active = 0;
      const side = Math.min(image.width, image.height);
      this.els.size.max = String(Math.max(8, Math.round(Math.max(image.width, image.height) / 4)));
      this.els.size.value = String(Math.max(4, Math.round(side / 12)));
    } else {
      for (const brush of this.brushes) this.makeOverlay(brush);
    }
    this.cursor = [image.width / 2, image.height / 2];
    this.els.empty.hidden = true;
    this.els.canvas.hidden = false;
    this.syncSize();
    this.renderList();
    this.render();
    this.announce();
  }

  addBrush(kind) {
    const dynamicCount = this.brushes.filter((b) => b.kind === "dynamic").length;
    if (kind === "dynamic" && dynamicCount >= this.limits.maxDynamic) return;
    const { width, height } = this.image;
    const number = kind === "static" ? 0 : dynamicCount + 1;
    const brush = {
      kind,
      label: kind === "static" ? "Static" : `Dynamic ${number}`,
      color: COLORS[(kind === "static" ? 0 : number) % COLORS.length],
      mask: new Uint8Array(width * height),
      painted: 0,
      points: [],
    };
    this.makeOverlay(brush);
    this.brushes.push(brush);
    this.active = this.brushes.length - 1;
  }

  makeOverlay(brush) {
    const overlay = document.createElement("canvas");
    overlay.width = this.els.canvas.width;
    overlay.height = this.els.canvas.height;
    brush.overlay = overlay;
    brush.overlayCtx = overlay.getContext("2d");
    this.refreshOverlay(brush, [0, 0, this.image.width - 1, this.image.height - 1]);
  }

  removeActive() {
    const brush = this.brushes[this.active];
    if (!brush || brush.kind !== "dynamic") return;
    this.brushes.splice(this.active, 1);
    this.undoStack = this.undoStack.filter((entry) => entry.brush !== brush);
    let n = 0;
    for (const b of this.brushes) {
      if (b.kind === "dynamic") {
        n += 1;
        b.label = `Dynamic ${n}`;
      }
    }
    this.active = Math.min(this.active, this.brushes.length - 1);
    this.renderList();
    this.render();
    this.announce();
  }

  select(index) {
    if (index < 0 || index >= this.brushes.length) return;
    this.active = index;
    this.renderList();
    this.render();
    this.announce();
  }

  setTool(tool) {
    this.tool = tool;
    for (const radio of this.els.tools) radio.checked = radio.value === tool;
    this.render();
    this.announce();
  }

  get radius() {
    return Number(this.els.size.value) / 2;
  }

  syncSize() {
    this.els.sizeOut.textContent = this.els.size.value;
  }

  // ------------------------------------------------------------------ painting

  /** Paint (or erase) the capsule from a to b with the brush radius; image px, floats. */
  stamp(brush, a, b, value) {
    const { width, height } = this.image;
    const box = stampCapsule(brush, width, height, a, b, this.radius, value);
    if (box) this.refreshOverlay(brush, box);
  }

  /** Redraw the overlay pixels that show mask pixels [x0..x1] x [y0..y1]. */
  refreshOverlay(brush, box) {
    // The static brush is striped with white, so it shows on any picture and is never
    // mistaken for a dynamic one.
    paintOverlay(
      brush.overlayCtx,
      brush.mask,
      this.image,
      this.scale,
      box,
      brush.color,
      brush.kind === "static",
    );
  }

  pushUndo(entry) {
    this.undoStack.push(entry);
    if (this.undoStack.length > UNDO_DEPTH) this.undoStack.shift();
    this.updateButtons();
  }

  beginStroke(at) {
    const brush = this.brushes[this.active];
    this.pushUndo({ brush, mask: brush.mask.slice(), painted: brush.painted });
    this.stroke = { last: at };
    this.stamp(brush, at, at, this.tool === "erase" ? 0 : 1);
    this.render();
  }

  extendStroke(to) {
    if (!this.stroke) return;
    const brush = this.brushes[this.active];
    this.stamp(brush, this.stroke.last, to, this.tool === "erase" ? 0 : 1);
    this.stroke.last = to;
    this.render();
  }

  endStroke() {
    if (!this.stroke) return;
    this.stroke = null;
    this.renderList();
    this.announce();
  }

  pixel(at) {
    const { width, height } = this.image;
    return [
      Math.min(width - 1, Math.max(0, Math.floor(at[0]))),
      Math.min(height - 1, Math.max(0, Math.floor(at[1]))),
    ];
  }

  /** Add a trajectory point to the active dynamic brush; false (and a status) if it cannot. */
  addPoint(at, recordUndo = true) {
    const brush = this.brushes[this.active];
    if (!brush || brush.kind !== "dynamic") {
      this.say("Pick a dynamic brush to draw its trajectory.");
      return false;
    }
    if (brush.points.length >= this.limits.maxPoints) {
      this.say(`${brush.label}: a trajectory has at most ${this.limits.maxPoints} points.`);
      return false;
    }
    if (recordUndo) this.pushUndo({ brush, points: brush.points.slice() });
    brush.points.push(this.pixel(at));
    this.renderList();
    this.render();
    this.announce();
    return true;
  }

  removeLastPoint() {
    const brush = this.brushes[this.active];
    if (!brush || !brush.points.length) return;
    this.pushUndo({ brush, points: brush.points.slice() });
    brush.points.pop();
    this.renderList();
    this.render();
    this.announce();
  }

  clearMask() {
    const brush = this.brushes[this.active];
    if (!brush || !brush.painted) return;
    this.pushUndo({ brush, mask: brush.mask.slice(), painted: brush.painted });
    brush.mask.fill(0);
    brush.painted = 0;
    this.refreshOverlay(brush, [0, 0, this.image.width - 1, this.image.height - 1]);
    this.renderList();
    this.render();
    this.announce();
  }

  clearPath() {
    const brush = this.brushes[this.active];
    if (!brush || !brush.points.length) return;
    this.pushUndo({ brush, points: brush.points.slice() });
    brush.points = [];
    this.renderList();
    this.render();
    this.announce();
  }

  undo() {
    const entry = this.undoStack.pop();
    if (!entry) return;
    const { brush } = entry;
    if (entry.mask) {
      brush.mask = entry.mask;
      brush.painted = entry.painted;
      this.refreshOverlay(brush, [0, 0, this.image.width - 1, this.image.height - 1]);
    }
    if (entry.points) brush.points = entry.points;
    const index = this.brushes.indexOf(brush);
    if (index >= 0) this.active = index;
    this.updateButtons();
    this.renderList();
    this.render();
    this.say(`Undone (${brush.label}).`);
  }

  // ------------------------------------------------------------------ input

  toImage(event) {
    const rect = this.els.canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) / rect.width) * this.image.width,
      ((event.clientY - rect.top) / rect.height) * this.image.height,
    ];
  }

  bind() {
    const { canvas } = this.els;
    canvas.addEventListener("pointerdown", (event) => {
      if (!this.image || event.button > 0) return;
      event.preventDefault();
      canvas.focus({ preventScroll: true });
      canvas.setPointerCapture(event.pointerId);
      const at = this.toImage(event);
      this.cursor = at;
      if (this.tool === "path") {
        if (this.addPoint(at)) this.pathDrag = { last: at };
      } else {
        this.beginStroke(at);
      }
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!this.image) return;
      const at = this.toImage(event);
      this.cursor = at;
      this.cursorShown = true;
      if (this.stroke) {
        this.extendStroke(at);
      } else if (this.pathDrag) {
        // Freehand trajectory: a point every 1/40 of the image's longer side.
        const step = Math.max(this.image.width, this.image.height) / 40;
        const [lx, ly] = this.pathDrag.last;
        if (Math.hypot(at[0] - lx, at[1] - ly) >= step && this.addPoint(at, false)) {
          this.pathDrag.last = at;
        }
      } else {
        this.render();
      }
    });
    const finish = () => {
      this.endStroke();
      this.pathDrag = null;
    };
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.addEventListener("pointerleave", () => {
      this.cursorShown = document.activeElement === canvas;
      if (this.image) this.render();
    });
    canvas.addEventListener("focus", () => {
      this.cursorShown = true;
      if (this.image) this.render();
    });
    canvas.addEventListener("blur", () => {
      this.cursorShown = false;
      this.spaceDown = false;
      this.endStroke();
      if (this.image) this.render();
    });
    canvas.addEventListener("keydown", (event) => this.onKey(event));
    canvas.addEventListener("keyup", (event) => {
      if (event.key === " ") {
        this.spaceDown = false;
        this.endStroke();
      }
    });

    this.els.add.addEventListener("click", () => {
      if (!this.image) return;
      this.addBrush("dynamic");
      this.renderList();
      this.render();
      this.announce();
    });
    this.els.remove.addEventListener("click", () => this.removeActive());
    this.els.undo.addEventListener("click", () => this.undo());
    this.els.clear.addEventListener("click", () => this.clearMask());
    this.els.clearPath.addEventListener("click", () => this.clearPath());
    this.els.size.addEventListener("input", () => {
      this.syncSize();
      if (this.image) this.render();
    });
    for (const radio of this.els.tools) {
      radio.addEventListener("change", () => radio.checked && this.setTool(radio.value));
    }
  }

  onKey(event) {
    if (!this.image) return;
    const { key } = event;
    const mod = event.ctrlKey || event.metaKey;
    if (mod && (key === "z" || key === "Z")) {
      event.preventDefault();
      this.undo();
      return;
    }
    if (mod || event.altKey) return;
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (key in moves) {
      event.preventDefault();
      const unit = Math.max(1, Math.round(Math.max(this.image.width, this.image.height) / 100));
      const step = event.shiftKey ? unit * 10 : unit;
      const [dx, dy] = moves[key];
      const next = this.pixel([this.cursor[0] + dx * step, this.cursor[1] + dy * step]);
      this.cursor = [next[0] + 0.5, next[1] + 0.5];
      if (this.stroke) this.extendStroke(this.cursor);
      else this.render();
      return;
    }
    if (key === " ") {
      event.preventDefault();
      if (!this.spaceDown && this.tool !== "path") {
        this.spaceDown = true;
        this.beginStroke(this.cursor);
      }
      return;
    }
    if (key === "Enter") {
      event.preventDefault();
      this.addPoint(this.cursor);
      return;
    }
    if (key === "Backspace" || key === "Delete") {
      event.preventDefault();
      this.removeLastPoint();
      return;
    }
    if (key === "[" || key === "]") {
      event.preventDefault();
      const size = Number(this.els.size.value);
      const delta = Math.max(1, Math.round(size / 5));
      this.els.size.value = String(key === "[" ? size - delta : size + delta);
      this.syncSize();
      this.render();
      this.say(`Brush size ${this.els.size.value} px.`);
      return;
    }
    const tools = { b: "paint", e: "erase", t: "path" };
    if (key.toLowerCase() in tools) {
      event.preventDefault();
      this.setTool(tools[key.toLowerCase()]);
      return;
    }
    if (/^[0-9]$/.test(key)) {
      event.preventDefault();
      this.select(Number(key));
    }
  }

  // ------------------------------------------------------------------ drawing and text

  render() {
    const { ctx } = this;
    const { canvas } = this.els;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!this.image) return;
    ctx.globalAlpha = 1;
    ctx.drawImage(this.image.bitmap, 0, 0, canvas.width, canvas.height);
    this.brushes.forEach((brush, index) => {
      if (!brush.painted) return;
      ctx.globalAlpha = index === this.active ? 0.6 : 0.45;
      ctx.drawImage(brush.overlay, 0, 0);
    });
    ctx.globalAlpha = 1;
    const s = this.scale;
    const line = Math.max(2, canvas.width / 300);
    for (const brush of this.brushes) {
      if (!brush.points.length) continue;
      const pts = brush.points.map(([x, y]) => [(x + 0.5) * s, (y + 0.5) * s]);
      ctx.lineWidth = line * 2.2;
      ctx.strokeStyle = "rgba(0,0,0,0.6)";
      this.polyline(pts);
      ctx.lineWidth = line;
      ctx.strokeStyle = brush.color;
      this.polyline(pts);
      pts.forEach(([x, y], i) => {
        ctx.beginPath();
        ctx.arc(x, y, line * (i === 0 ? 2.6 : 1.8), 0, Math.PI * 2);
        ctx.fillStyle = i === 0 ? "#fff" : brush.color;
        ctx.fill();
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 1;
        ctx.stroke();
      });
      if (pts.length >= 2) this.arrow(pts[pts.length - 2], pts[pts.length - 1], brush.color, line);
    }
    if (this.cursor && this.cursorShown) {
      const [cx, cy] = [this.cursor[0] * s, this.cursor[1] * s];
      ctx.beginPath();
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "#fff";
      const r = this.tool === "path" ? line * 3 : Math.max(2, this.radius * s);
      ctx.arc(cx, cy, r, 0, Math.PI * 2);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.strokeStyle = "#000";
      ctx.beginPath();
      ctx.arc(cx, cy, r + 1.5, 0, Math.PI * 2);
      ctx.stroke();
    }
  }

  polyline(pts) {
    const { ctx } = this;
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
  }

  arrow([ax, ay], [bx, by], color, line) {
    const { ctx } = this;
    const angle = Math.atan2(by - ay, bx - ax);
    const size = line * 5;
    ctx.beginPath();
    ctx.moveTo(bx, by);
    ctx.lineTo(bx - size * Math.cos(angle - 0.45), by - size * Math.sin(angle - 0.45));
    ctx.lineTo(bx - size * Math.cos(angle + 0.45), by - size * Math.sin(angle + 0.45));
    ctx.closePath();
    ctx.fillStyle = color;
    ctx.fill();
  }

  renderList() {
    const { list } = this.els;
    list.replaceChildren();
    this.brushes.forEach((brush, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "brush-pick";
      button.dataset.index = String(index);
      button.setAttribute("aria-pressed", String(index === this.active));
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = brush.color;
      button.append(swatch, document.createTextNode(` ${brush.label}`));
      const extra = brush.kind === "dynamic" ? ` · ${brush.points.length} pts` : "";
      const note = document.createElement("span");
      note.className = "muted";
      note.textContent = `${brush.painted ? " · painted" : ""}${extra}`;
      button.append(note);
      button.addEventListener("click", () => this.select(index));
      list.append(button);
    });
    this.updateButtons();
  }

  updateButtons() {
    const dynamic = this.brushes.filter((b) => b.kind === "dynamic").length;
    this.els.add.disabled = !this.image || dynamic >= this.limits.maxDynamic;
    const active = this.brushes[this.active];
    this.els.remove.disabled = !active || active.kind !== "dynamic";
    this.els.undo.disabled = this.undoStack.length === 0;
  }

  say(text) {
    this.els.status.textContent = text;
  }

  announce() {
    const brush = this.brushes[this.active];
    if (!brush) return;
    const tool = { paint: "paint", erase: "eraser", path: "trajectory" }[this.tool];
    let text = `${brush.label} brush, ${tool} tool, ${brush.painted ? `${brush.painted} px painted` : "nothing painted"}`;
    if (brush.kind === "dynamic") {
      text += `, ${brush.points.length} trajectory points (${this.limits.minPoints} to ${this.limits.maxPoints})`;
    }
    this.say(`${text}.`);
  }

  // ------------------------------------------------------------------ export

  /** Kling's trajectory of a brush: bottom-left origin, integer pixels of the image. */
  trajectory(brush) {
    const { height } = this.image;
    return brush.points.map(([x, y]) => ({ x, y: height - 1 - y }));
  }

  /**
   * The motion-brush part of a request, or a FieldError naming what is missing:
   * ``{static_mask: bytes|null, dynamic: [{mask: bytes, trajectories, label}]}``.
   */
  async export() {
    if (!this.image)
      throw new FieldError("static_mask", "static_mask: pick the first-frame image, then paint on it");
    const result = { static_mask: null, dynamic: [] };
    const statics = this.brushes.find((b) => b.kind === "static");
    if (statics && statics.painted)
      result.static_mask = await maskPng(statics.mask, this.image.width, this.image.height);
    for (const brush of this.brushes) {
      if (brush.kind !== "dynamic" || (!brush.painted && !brush.points.length)) continue;
      const i = result.dynamic.length;
      if (!brush.painted) {
        throw new FieldError(
          `dynamic_masks[${i}].mask`,
          `dynamic_masks[${i}].mask: ${brush.label} has a trajectory but no painted area`,
        );
      }
      if (brush.points.length < this.limits.minPoints) {
        throw new FieldError(
          `dynamic_masks[${i}].trajectories`,
          `dynamic_masks[${i}].trajectories: ${brush.label} needs at least ${this.limits.minPoints} trajectory points (has ${brush.points.length})`,
        );
      }
      result.dynamic.push({
        label: brush.label,
        mask: await maskPng(brush.mask, this.image.width, this.image.height),
        trajectories: this.trajectory(brush),
      });
    }
    if (!result.static_mask && !result.dynamic.length) {
      throw new FieldError(
        "static_mask",
        "static_mask: paint a static or a dynamic brush (or choose another control)",
      );
    }
    return result;
  }
}
