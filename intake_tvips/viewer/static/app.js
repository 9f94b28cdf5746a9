// intake-tvips view: the page. Plain JS and canvas; every number comes from the API.
"use strict";

const token = document.querySelector('meta[name="tvips-token"]').content;
const $ = (id) => document.getElementById(id);
const S = {
  info: null, scan: null, detected: null, detector: null, userDetector: false,
  image: null, mean: null, meanCanvas: null, pattern: null, hover: null, pinned: null,
  done: 0, finished: false, firstFull: null, drag: null,
};
window.tvipsView = S; // for tests and the curious

// ------------------------------------------------------------------------------ the API
async function api(path, params, opts = {}) {
  const q = params ? "?" + new URLSearchParams(params) : "";
  const headers = Object.assign({ "X-Token": token }, opts.headers || {});
  const r = await fetch("api/" + path + q, Object.assign({}, opts, { headers }));
  if (!r.ok) {
    let msg = "HTTP " + r.status;
    try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}

async function getArray(path, params) {
  const r = await api(path, params);
  const shape = r.headers.get("X-Shape").split(",").map(Number);
  return { shape, data: new Float32Array(await r.arrayBuffer()), headers: r.headers };
}

// one request at a time; asked again meanwhile, it runs once more with the latest state
function coalesced(fn) {
  let busy = false, again = false;
  return async function run() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do { again = false; await fn(); } while (again);
    } catch (e) { showError(e); } finally { busy = false; }
  };
}

function showError(e) { $("footer").textContent = "error: " + e.message; }

const scanParams = () => ({
  ny: S.scan.ny, nx: S.scan.nx, start: S.scan.start,
  winding: S.scan.winding || "none", hysteresis: S.scan.hysteresis,
});
const detParams = () => ({
  cy: S.detector.cy, cx: S.detector.cx, r_out: S.detector.r_out,
  r_in: $("mode").value === "annulus" ? S.detector.r_in : 0,
});

// ------------------------------------------------------------------------- drawing
const STOPS = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
  [245, 125, 21], [250, 193, 39], [252, 255, 164]]; // inferno, coarsely
const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (STOPS.length - 1), k = Math.min(Math.floor(t), STOPS.length - 2);
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[3 * i + c] = STOPS[k][c] * (1 - f) + STOPS[k + 1][c] * f;
  }
  return lut;
})();

function limits(values) {
  const step = Math.max(1, Math.floor(values.length / 20000)), v = [];
  for (let i = 0; i < values.length; i += step) if (Number.isFinite(values[i])) v.push(values[i]);
  if (!v.length) return [0, 1];
  v.sort((a, b) => a - b);
  const lo = v[Math.floor(0.005 * (v.length - 1))], hi = v[Math.ceil(0.995 * (v.length - 1))];
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

// an array as an offscreen canvas of its own size: gray (linear) or inferno (log)
function render(arr, log) {
  const [h, w] = arr.shape, src = arr.data;
  const vals = log ? src.map((x) => Math.log1p(Math.max(x, 0))) : src;
  const [lo, hi] = limits(vals);
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  const ctx = c.getContext("2d"), img = ctx.createImageData(w, h), px = img.data;
  for (let i = 0; i < w * h; i++) {
    const v = vals[i];
    if (!Number.isFinite(v)) { px.set([28, 42, 58, 255], 4 * i); continue; }
    const g = Math.round(255 * Math.min(1, Math.max(0, (v - lo) / (hi - lo))));
    if (log) px.set([LUT[3 * g], LUT[3 * g + 1], LUT[3 * g + 2], 255], 4 * i);
    else px.set([g, g, g, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

function paint(canvas, offscreen) {
  const w = canvas.width, h = Math.round(w * offscreen.height / offscreen.width);
  if (canvas.height !== h) canvas.height = h;
  canvas.style.aspectRatio = `${offscreen.width} / ${offscreen.height}`;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(offscreen, 0, 0, w, h);
  return ctx;
}

function drawImage() {
  if (!S.image) return;
  const c = $("vimage"), ctx = paint(c, S.image.canvas);
  const sy = c.height / S.image.shape[0], sx = c.width / S.image.shape[1];
  for (const [p, color] of [[S.hover, "#7fb2ff"], [S.pinned, "#ff4d4d"]]) {
    if (!p) continue;
    ctx.strokeStyle = color; ctx.lineWidth = 2;
    ctx.strokeRect(p.x * sx - 1, p.y * sy - 1, Math.max(sx, 3) + 2, Math.max(sy, 3) + 2);
  }
}

function drawMean() {
  if (!S.meanCanvas) return;
  const c = $("mean"), ctx = paint(c, S.meanCanvas);
  if (!S.detector) return;
  const s = c.width / (S.meanCanvas.width * S.info.display_bin), d = S.detector;
  const x = (d.cx + 0.5) * s, y = (d.cy + 0.5) * s;
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#35e0ff";
  ctx.fillStyle = "rgba(53, 224, 255, 0.12)";
  ctx.beginPath(); ctx.arc(x, y, d.r_out * s, 0, 2 * Math.PI);
  if ($("mode").value === "annulus") ctx.arc(x, y, d.r_in * s, 0, 2 * Math.PI, true);
  ctx.fill("evenodd"); ctx.stroke();
  if ($("mode").value === "annulus") {
    ctx.beginPath(); ctx.arc(x, y, d.r_in * s, 0, 2 * Math.PI); ctx.stroke();
  }
  ctx.fillStyle = "#35e0ff";
  ctx.fillRect(x - 2, y - 2, 4, 4);
}

function drawPattern() {
  if (S.pattern) paint($("pattern"), S.pattern.canvas);
}

// ------------------------------------------------------------------------ fetching
const refreshImage = coalesced(async () => {
  if (!S.detector || !S.scan) return;
  const params = Object.assign(detParams(), scanParams());
  const arr = await getArray("image", params);
  S.image = { shape: arr.shape, data: arr.data, canvas: render(arr, false) };
  drawImage();
  const c = $("vimage");
  c.dataset.key = JSON.stringify(params);
  c.dataset.hysteresis = String(params.hysteresis);
  c.dataset.done = arr.headers.get("X-Done");
  const full = Number(c.dataset.done) === S.info.n_frames;
  if (full && S.firstFull === null) {
    S.firstFull = performance.now();
    document.body.dataset.full = "1";
  }
  const d = S.detector, exact = arr.headers.get("X-Exact") === "1";
  c.dataset.exact = exact ? "1" : "0";
  $("vimage-caption").textContent = ($("mode").value === "annulus" ? "annulus" : "disc") +
    ` r ${d.r_out.toFixed(1)} at (${d.cy.toFixed(1)}, ${d.cx.toFixed(1)})` +
    (exact ? " · exact" : " · from cells");
});

const refreshMean = coalesced(async () => {
  const arr = await getArray("mean");
  S.mean = arr;
  S.meanCanvas = render(arr, true);
  drawMean();
});

const refreshPattern = coalesced(async () => {
  const p = S.pinned || S.hover;
  if (!p || !S.scan) return;
  const arr = await getArray("pattern", Object.assign({ y: p.y, x: p.x }, scanParams()));
  const frame = Number(arr.headers.get("X-Frame"));
  S.pattern = { shape: arr.shape, data: arr.data, canvas: render(arr, true), at: p, frame };
  drawPattern();
  $("pattern-title").textContent = `at (${p.y}, ${p.x}) · ` +
    (frame >= 0 ? `frame ${frame}` : "no frame recorded there") + (S.pinned ? " · kept" : "");
  $("pattern").dataset.at = `${p.y},${p.x}`;
  $("pattern").dataset.frame = String(frame);
});

async function poll() {
  if (S.polling) return; // the request in flight schedules the next one
  S.polling = true;
  try {
    const st = await (await api("status", S.finished ? null : { since: S.done })).json();
    if (st.detector && !S.userDetector && !S.detector) setDetector(st.detector, false);
    const changed = st.done !== S.done;
    S.done = st.done;
    showProgress(st);
    showSuggestion(st.suggestion);
    if (changed || (st.finished && !S.finished)) {
      // while the pass runs, redraw at most 4 times a second (the pass needs the CPU);
      // the mean less often (it may be 512 x 512); at the end, both at once
      const now = performance.now();
      if (st.finished || !S.imageAt || now - S.imageAt > 250) { S.imageAt = now; refreshImage(); }
      if (st.finished || !S.meanAt || now - S.meanAt > 1000) { S.meanAt = now; refreshMean(); }
    }
    S.finished = st.finished;
    showExact(st.exact);
    const exactRunning = st.exact && !st.exact.finished;
    S.pollTimer = setTimeout(poll, !st.finished ? 0 : exactRunning ? 300 : 2000);
  } catch (e) { showError(e); S.pollTimer = setTimeout(poll, 2000); } finally { S.polling = false; }
}

function showProgress(st) {
  const frac = st.total ? st.done / st.total : 0;
  $("bar").style.width = (100 * frac).toFixed(1) + "%";
  let text = `${st.done} / ${st.total} frames · ${st.seconds.toFixed(1)} s`;
  if (st.finished && !st.error) text = `all ${st.total} frames read in ${st.seconds.toFixed(2)} s`;
  if (st.error) { text = "stopped: " + st.error; $("bar").style.background = "#c0392b"; }
  $("progress").textContent = text;
}

function showExact(ex) {
  const b = $("exact");
  if (!ex) return;
  if (!ex.finished) { b.textContent = `exact: ${Math.round(100 * ex.done / ex.total)} %`; return; }
  b.textContent = ex.error ? "exact: failed" : "exact image";
  if (ex.error) b.title = ex.error;
  if (!S.exactSeen || S.exactSeen !== ex.seconds) { S.exactSeen = ex.seconds; refreshImage(); }
}

function showSuggestion(sg) {
  const el = $("suggestion");
  if (!sg) { el.hidden = true; return; }
  el.hidden = false;
  if (sg.hysteresis === null || sg.hysteresis === undefined) {
    el.textContent = "no hysteresis estimate: " + sg.reason;
    return;
  }
  el.innerHTML = "";
  el.append(`estimated from the pixels: hysteresis ${sg.hysteresis} ` +
    `(confidence ${(100 * sg.confidence).toFixed(0)} %) `);
  const b = document.createElement("button");
  b.textContent = "use it"; b.title = sg.reason;
  b.onclick = () => { setScan(Object.assign({}, S.scan, { hysteresis: sg.hysteresis })); };
  el.append(b);
}

// --------------------------------------------------------------------------- controls
function setScan(scan) {
  S.scan = scan;
  $("ny").value = scan.ny; $("nx").value = scan.nx; $("start").value = scan.start;
  $("winding").value = scan.winding || "none"; $("hysteresis").value = scan.hysteresis;
  refreshImage();
  if (S.pinned || S.hover) refreshPattern();
}

function readScan() {
  const n = (id) => parseInt($(id).value, 10);
  const scan = { ny: n("ny"), nx: n("nx"), start: n("start"),
    winding: $("winding").value === "none" ? null : $("winding").value, hysteresis: n("hysteresis") };
  if ([scan.ny, scan.nx, scan.start, scan.hysteresis].some((v) => !Number.isFinite(v))) return;
  if (scan.ny < 1 || scan.nx < 1) return;
  setScan(scan);
}

function setDetector(d, byUser) {
  S.detector = { cy: d.cy, cx: d.cx, r_out: Math.max(0.5, d.r_out),
    r_in: Math.min(Math.max(0, d.r_in || S.detector?.r_in || d.r_out / 2), d.r_out - 0.5) };
  if (byUser) S.userDetector = true;
  $("r_out").value = S.detector.r_out.toFixed(1);
  $("r_in").value = S.detector.r_in.toFixed(1);
  drawMean();
  refreshImage();
}

function meanPoint(ev) {
  const c = $("mean"), r = c.getBoundingClientRect();
  const s = r.width / (S.meanCanvas.width * S.info.display_bin);
  return { x: (ev.clientX - r.left) / s - 0.5, y: (ev.clientY - r.top) / s - 0.5, s };
}

function grab(ev) {
  if (!S.detector || !S.meanCanvas) return null;
  const p = meanPoint(ev), d = S.detector, dist = Math.hypot(p.x - d.cx, p.y - d.cy);
  const tol = 6 / p.s;
  if (Math.abs(dist - d.r_out) < tol) return { kind: "r_out" };
  if ($("mode").value === "annulus" && Math.abs(dist - d.r_in) < tol) return { kind: "r_in" };
  return { kind: "move", dy: d.cy - p.y, dx: d.cx - p.x, inside: dist < d.r_out };
}

function wireMean() {
  const c = $("mean");
  c.addEventListener("pointerdown", (ev) => {
    S.drag = grab(ev);
    if (!S.drag) return;
    if (S.drag.kind === "move" && !S.drag.inside) { S.drag.dy = 0; S.drag.dx = 0; }
    c.setPointerCapture(ev.pointerId);
    dragTo(ev);
  });
  c.addEventListener("pointermove", (ev) => {
    if (S.drag) { dragTo(ev); return; }
    const g = grab(ev);
    c.style.cursor = g && g.kind !== "move" ? "nwse-resize" : "move";
  });
  const end = () => { S.drag = null; };
  c.addEventListener("pointerup", end);
  c.addEventListener("pointercancel", end);
}

function dragTo(ev) {
  const p = meanPoint(ev), d = Object.assign({}, S.detector), g = S.drag;
  const dist = Math.hypot(p.x - d.cx, p.y - d.cy);
  if (g.kind === "move") { d.cy = p.y + g.dy; d.cx = p.x + g.dx; }
  if (g.kind === "r_out") d.r_out = Math.max(dist, $("mode").value === "annulus" ? d.r_in + 0.5 : 0.5);
  if (g.kind === "r_in") d.r_in = Math.min(dist, d.r_out - 0.5);
  setDetector(d, true);
}

function imagePoint(ev) {
  const c = $("vimage"), r = c.getBoundingClientRect();
  const y = Math.floor(((ev.clientY - r.top) / r.height) * S.scan.ny);
  const x = Math.floor(((ev.clientX - r.left) / r.width) * S.scan.nx);
  return { y: Math.min(Math.max(y, 0), S.scan.ny - 1), x: Math.min(Math.max(x, 0), S.scan.nx - 1) };
}

function wireImage() {
  const c = $("vimage");
  c.addEventListener("mousemove", (ev) => {
    if (!S.scan) return;
    const p = imagePoint(ev);
    if (S.hover && p.y === S.hover.y && p.x === S.hover.x) return;
    S.hover = p; drawImage();
    if (!S.pinned) refreshPattern();
  });
  c.addEventListener("mouseleave", () => { S.hover = null; drawImage(); });
  c.addEventListener("click", (ev) => {
    const p = imagePoint(ev);
    S.pinned = S.pinned && S.pinned.y === p.y && S.pinned.x === p.x ? null : p;
    S.hover = p; drawImage(); refreshPattern();
  });
}

function wireControls() {
  for (const id of ["ny", "nx", "start", "hysteresis", "winding"]) $(id).addEventListener("input", readScan);
  for (const b of document.querySelectorAll("button[data-step]")) {
    b.addEventListener("click", () => {
      const [id, step] = b.dataset.step.split(":");
      $(id).value = parseInt($(id).value || "0", 10) + Number(step);
      readScan();
    });
  }
  $("reset-scan").onclick = () => setScan(Object.assign({}, S.detected));
  $("mode").onchange = () => {
    $("r_in_label").hidden = $("mode").value !== "annulus";
    setDetector(S.detector, true);
  };
  $("r_out").addEventListener("input", () => {
    const v = parseFloat($("r_out").value);
    if (v > 0) setDetector(Object.assign({}, S.detector, { r_out: v }), true);
  });
  $("r_in").addEventListener("input", () => {
    const v = parseFloat($("r_in").value);
    if (v >= 0) setDetector(Object.assign({}, S.detector, { r_in: v }), true);
  });
  $("reset-detector").onclick = async () => {
    const st = await (await api("status")).json();
    S.userDetector = false;
    if (st.detector) setDetector(st.detector, false);
  };
  $("write").onclick = writeCatalog;
  $("exact").onclick = async () => {
    const body = JSON.stringify(detParams());
    await api("exact", null, { method: "POST", body, headers: { "Content-Type": "application/json" } });
    $("exact").textContent = "exact: 0 %";
    clearTimeout(S.pollTimer);
    poll();
  };
}

async function writeCatalog() {
  const out = $("catalog-status");
  out.className = "";
  try {
    const body = JSON.stringify(Object.assign(scanParams(), { replace: $("replace").checked }));
    const r = await api("catalog", null, { method: "POST", body, headers: { "Content-Type": "application/json" } });
    const got = await r.json();
    out.textContent = `${got.what} entry '${got.entry}' in ${got.path}:\n\n${got.yaml}`;
    out.dataset.what = got.what;
  } catch (e) {
    out.className = "error";
    out.textContent = e.message;
    out.dataset.what = "error";
  }
}

async function main() {
  S.info = await (await api("info")).json();
  const i = S.info;
  $("name").textContent = `${i.name} · ${i.n_frames} frames of ${i.frame_shape.join(" × ")} ${i.dtype}`;
  const cut = i.origin.indexOf("): ");
  $("origin-head").textContent = "Scan " + (cut > 0 ? i.origin.slice(0, cut + 1) : i.origin);
  $("origin").textContent = cut > 0 ? i.origin.slice(cut + 3) : "";
  S.detected = Object.assign({}, i.scan);
  $("r_in_label").hidden = true;
  if (i.catalog) {
    $("catalog-target").textContent = `entry '${i.catalog.entry}' in ${i.catalog.path}`;
    $("replace").checked = i.catalog.replace;
  } else {
    $("catalog-target").textContent = "start with --catalog YAML [--entry NAME] (or view(..., " +
      "catalog=...)) to write these parameters to a catalog";
    $("write").disabled = true;
    $("write").hidden = true;
    $("replace").parentElement.hidden = true;
  }
  $("exact").hidden = i.exact;
  $("footer").textContent = i.exact
    ? `virtual images from per-frame sums over every detector pixel (${i.grid.join(" × ")}): exact`
    : `virtual images from per-frame sums over ${i.grid.join(" × ")} detector cells: ` +
      "cells cut by the detector's edge count in proportion to their area";
  wireMean(); wireImage(); wireControls();
  setScan(Object.assign({}, i.scan));
  poll();
}

main().catch(showError);
