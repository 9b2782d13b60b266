// embedspace explorer: one canvas for the map (no DOM node per point), panels for the rest.
// Talks only to the server that served it; an API key, if the server needs one, is kept
// for this tab only (sessionStorage).
"use strict";

const $ = (sel) => document.querySelector(sel);
// `embedspace map --out x.html` inlines the map and each item's neighbours here: no server.
const EXPORTED = window.EMBEDSPACE_EXPORT || null;
const state = { map: null, hover: -1, selected: -1, marked: new Map(), query: null,
  pictureSide: 0 };

// -- talking to the API -------------------------------------------------------------------
function authHeaders(headers = {}) {
  const key = sessionStorage.getItem("embedspace-key");
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
}

// The space's routes: "/search"... on a one-space server, "/spaces/NAME/search"... when
// this page was opened at /spaces/NAME/ (a server of several spaces).
const SPACE = (location.pathname.match(/^\/spaces\/[^/]+/) || [""])[0];

// `base` is SPACE for the space's routes, "" for the server's own (words).
async function api(path, body, base = SPACE) {
  const headers = authHeaders({ "Content-Type": "application/json" });
  const response = await fetch(base + path, body === undefined
    ? { headers } : { method: "POST", headers, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) $("#key-form").hidden = false;
  if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
  return data;
}

function status(text, isError = false) {
  const el = $("#status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

function hitRow(h) {
  // A search hit as a list row: its matched passage, and where it stands in its source
  // ("report.pdf p. 7 § Results") for documents.
  const passage = h.chunk ? h.text.slice(h.chunk[0], h.chunk[1]) : h.text;
  const place = [h.page != null ? `p. ${h.page}` : "", h.section ? `§ ${h.section}` : ""]
    .filter(Boolean).join(" ");
  return { label: passage, score: h.score, id: h.id, where: place ? `${h.id} ${place}` : "" };
}

function listInto(list, rows) {
  // rows: [{label, score, id?, where?}] -> <li><span class=score>0.812</span>label</li>
  list.replaceChildren(...rows.map((row) => {
    const li = document.createElement("li");
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = row.score.toFixed(3);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = row.label;
    text.title = row.label;
    li.append(score);
    const picture = row.id !== undefined && state.map && thumbnailOf(state.map.index.get(row.id));
    if (picture) li.append(picture);
    if (row.where) {
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = row.where;
      li.append(where);
    }
    li.append(text);
    if (row.id !== undefined) {
      li.dataset.id = row.id;
      li.addEventListener("click", () => select(state.map.index.get(row.id)));
    }
    return li;
  }));
}

// -- the map ----------------------------------------------------------------------------
// Two canvases: #points (points.js: WebGL, or a 2-D fallback) under #map, the 2-D overlay
// that takes the mouse and draws what changes often (labels, marks, lasso, pictures).
const canvas = $("#map");
const ctx = canvas.getContext("2d");
const points = createPointLayer($("#points"));
// Pan and zoom: the map point at the centre of the canvas, and the magnification;
// `moving` while a pan or zoom is under way (points.js then draws its motion sample).
const view = { cx: 0, cy: 0, zoom: 1, moving: false };
let restTimer = 0;

function viewMoved() {
  // Redraw now with the motion sample; every point again once the view rests 150 ms.
  view.moving = true;
  clearTimeout(restTimer);
  restTimer = setTimeout(() => { view.moving = false; requestDraw(); }, 150);
  requestDraw();
}

function mapFrame() {
  // Map coordinates in [-1, 1] -> CSS pixels: screen = (x0 + x * kx, y0 + y * ky).
  const pad = 24, w = canvas.clientWidth, h = canvas.clientHeight;
  const k = (Math.min(w, h) / 2 - pad) * view.zoom;
  return { kx: k, ky: -k, x0: w / 2 - view.cx * k, y0: h / 2 + view.cy * k };
}

function project(x, y) {
  const f = mapFrame();
  return [f.x0 + x * f.kx, f.y0 + y * f.ky];
}

function layout() {
  // Every point's screen position, once per draw: hover, click and lasso scan these
  // typed arrays instead of re-projecting each point on every mouse move.
  const n = state.map.ids.length;
  state.sx = new Float32Array(n);
  state.sy = new Float32Array(n);
  const { kx, ky, x0, y0 } = mapFrame();
  for (let i = 0; i < n; i++) {
    state.sx[i] = x0 + state.map.x[i] * kx;
    state.sy[i] = y0 + state.map.y[i] * ky;
  }
}

const toScreen = (i) => [state.sx[i], state.sy[i]];

// -- thumbnails: image items are drawn as their pictures --------------------------------
// Beyond this many images the map keeps dots for the rest: pictures would only hide
// each other, and each one is a request.
const MAX_THUMBNAILS = 2000;
const pictures = new Map(); // thumbnail name -> decoded <img> (null if it failed)

async function fetchPicture(name) {
  // Served thumbnails go through fetch (an <img src> could not send the API key); an
  // exported map carries them inline as data: URLs.
  let src = EXPORTED && EXPORTED.thumbnails[name];
  if (!EXPORTED) {
    const response = await fetch(`${SPACE}/thumbnails/${encodeURIComponent(name)}`,
      { headers: authHeaders() });
    if (!response.ok) throw new Error(`thumbnail ${name}: ${response.status}`);
    src = URL.createObjectURL(await response.blob());
  }
  if (!src) throw new Error(`thumbnail ${name} is not in this file`);
  const img = new Image();
  img.src = src;
  await img.decode();
  return img;
}

async function loadPictures(data) {
  // A few requests at a time; the map redraws (once per frame at most) as pictures land.
  if (!data.thumbnails) return;
  const names = [...new Set(data.thumbnails.filter(Boolean))].slice(0, MAX_THUMBNAILS);
  let next = 0, frame = 0, failed = 0;
  const worker = async () => {
    while (next < names.length && state.map === data) {
      const name = names[next++];
      if (pictures.get(name)) continue;
      try { pictures.set(name, await fetchPicture(name)); } catch { pictures.set(name, null); failed++; }
      frame = frame || requestAnimationFrame(() => { frame = 0; draw(); });
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  if (state.map !== data) return;
  canvas.dataset.thumbnails = String(names.filter((name) => pictures.get(name)).length);
  if (failed) status(`${failed} of ${names.length} thumbnails could not be loaded`, true);
  draw();
}

function thumbnailOf(i) {
  // A fresh <img> of point i's picture for a list or tooltip, or null for a text item.
  const names = state.map.thumbnails;
  const picture = i !== undefined && names && names[i] && pictures.get(names[i]);
  if (!picture) return null;
  const img = picture.cloneNode();
  img.className = "thumb";
  return img;
}

function drawPictures() {
  // Each picture centred on its point, framed in its group's colour; smaller as they
  // multiply. Never dimmed: a see-through photo would blend with what lies beneath.
  const names = state.map.thumbnails;
  if (!names) return;
  const { sx, sy } = state;
  const count = names.filter(Boolean).length;
  const side = count < 60 ? 44 : count < 400 ? 30 : 18;
  state.pictureSide = side;
  ctx.globalAlpha = 1;
  ctx.lineWidth = 3;
  for (const [colour, , idx] of state.colours) {
    ctx.strokeStyle = colour;
    for (const i of idx) {
      const picture = names[i] && pictures.get(names[i]);
      if (!picture) continue;
      const k = side / Math.max(picture.naturalWidth, picture.naturalHeight);
      const w = picture.naturalWidth * k, h = picture.naturalHeight * k;
      ctx.strokeRect(sx[i] - w / 2 - 1.5, sy[i] - h / 2 - 1.5, w + 3, h + 3);
      ctx.drawImage(picture, sx[i] - w / 2, sy[i] - h / 2, w, h);
    }
  }
  ctx.lineWidth = 1;
}

// Tableau 10 (as in `embedspace map --out x.png`): the commonest groups get a colour each.
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f"];
const DEFAULT_COLOUR = "#325aa0", OTHER_COLOUR = "#bab0ac";

function colourGroups(groups) {
  // -> [[colour, label, [point indices]], ...], commonest group first.
  const n = state.map.ids.length;
  if (!groups) return [[DEFAULT_COLOUR, null, [...Array(n).keys()]]];
  const members = new Map();
  groups.forEach((g, i) => { if (!members.has(g)) members.set(g, []); members.get(g).push(i); });
  const ranked = [...members.entries()].sort((a, b) => b[1].length - a[1].length);
  const coloured = ranked.slice(0, PALETTE.length)
    .map(([g, idx], c) => [PALETTE[c], g || "(none)", idx]);
  const rest = ranked.slice(PALETTE.length).flatMap(([, idx]) => idx);
  return rest.length ? [...coloured, [OTHER_COLOUR, "other", rest]] : coloured;
}

function uploadColours() {
  // The groups' colours as one RGBA byte per channel per point, for the point layer.
  const rgba = new Uint8Array(4 * state.map.ids.length);
  for (const [colour, , idx] of state.colours) {
    const c = parseInt(colour.slice(1), 16);
    for (const i of idx) rgba.set([c >> 16, (c >> 8) & 255, c & 255, 210], 4 * i);
  }
  points.setColours(rgba);
}

function showLegend() {
  const legend = $("#legend");
  legend.replaceChildren(...state.colours.filter(([, label]) => label !== null)
    .map(([colour, label, idx]) => {
      const li = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour;
      li.append(swatch, `${label} (${idx.length})`);
      return li;
    }));
}

function setColours(groups) {
  state.colours = colourGroups(groups);
  uploadColours();
  showLegend();
  requestDraw();
}

// -- topics on the map: each cluster's label at the centre of its points ----------------
function topicCentres(data) {
  // [{label, size, x, y}] per cluster, largest first: the median of its points (the
  // median, so a few strays far away do not drag the label off its island).
  const members = new Map();
  data.clusters.forEach((c, i) => { if (c >= 0) { if (!members.has(c)) members.set(c, []); members.get(c).push(i); } });
  const median = (values) => { values.sort((a, b) => a - b); return values[values.length >> 1]; };
  return [...members.entries()].map(([c, idx]) => ({
    label: data.cluster_labels[c].split(", ").slice(0, 3).join(", "), size: idx.length,
    x: median(idx.map((i) => data.x[i])), y: median(idx.map((i) => data.y[i])),
  })).sort((a, b) => b.size - a.size);
}

function drawTopics() {
  // Largest topics first; a label that would overlap one already drawn waits for more
  // zoom, so zooming in brings out the smaller topics. Drawn labels are kept for tests.
  state.drawnTopics = [];
  if (!state.topics) return;
  ctx.font = "600 13px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  const boxes = [];
  const w = canvas.clientWidth, h = canvas.clientHeight;
  for (const topic of state.topics) {
    const [x, y] = project(topic.x, topic.y);
    const half = ctx.measureText(topic.label).width / 2 + 4;
    const box = [x - half, y - 10, x + half, y + 10];
    if (box[2] < 0 || box[0] > w || box[3] < 0 || box[1] > h) continue;
    if (boxes.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
    boxes.push(box);
    ctx.lineWidth = 4;
    ctx.strokeStyle = "rgba(255,255,255,0.85)";
    ctx.strokeText(topic.label, x, y);
    ctx.fillStyle = "#222";
    ctx.fillText(topic.label, x, y);
    state.drawnTopics.push(topic.label);
  }
  ctx.lineWidth = 1;
  ctx.textAlign = "start";
  ctx.textBaseline = "alphabetic";
}

// -- drawing: coalesced into one frame ---------------------------------------------------
let drawPending = 0;
function requestDraw() {
  drawPending = drawPending || requestAnimationFrame(() => { drawPending = 0; draw(); });
}

function draw() {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  fit(canvas, { width: w, height: h, dpr });
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!state.map) { points.draw({ width: w, height: h, dpr, ...mapFrame(), size: 1, alpha: 1 }); return; }
  layout();
  const dim = state.marked.size > 0 || state.selected >= 0;
  const n = state.map.ids.length;
  // smaller dots as the map fills up, larger as you zoom in
  const size = Math.min(12, (n < 2000 ? 6 : n < 20000 ? 4 : 2.5) * Math.sqrt(view.zoom));
  points.draw({ width: w, height: h, dpr, ...mapFrame(), size, alpha: dim ? 0.3 : 0.85,
    moving: view.moving });
  drawPictures();
  drawTopics();
  ctx.globalAlpha = 1;
  const [selX, selY] = state.selected >= 0 ? toScreen(state.selected) : [0, 0];
  for (const [i, score] of state.marked) {
    const [px, py] = toScreen(i);
    if (state.selected >= 0) {
      ctx.strokeStyle = `rgba(230,120,20,${0.2 + 0.6 * Math.max(score, 0)})`;
      ctx.beginPath(); ctx.moveTo(selX, selY); ctx.lineTo(px, py); ctx.stroke();
    }
    ctx.fillStyle = "#e67814";
    ctx.beginPath(); ctx.arc(px, py, 5, 0, 2 * Math.PI); ctx.fill();
  }
  if (state.selected >= 0) {
    ctx.fillStyle = "#d02040";
    ctx.beginPath(); ctx.arc(selX, selY, 7, 0, 2 * Math.PI); ctx.fill();
  }
  drawLasso();
  if (state.pair && currentView === "compare") {
    // The two compared texts on the map: A and B, joined.
    const [[ax, ay], [bx, by]] = state.pair.map(([x, y]) => project(x, y));
    ctx.strokeStyle = "#7a3fc0"; ctx.fillStyle = "#7a3fc0"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
    ctx.font = "bold 14px system-ui, sans-serif";
    for (const [label, x, y] of [["A", ax, ay], ["B", bx, by]]) {
      ctx.beginPath(); ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.fill();
      ctx.fillText(label, x + 8, y - 8);
    }
    ctx.lineWidth = 1;
  }
  if (state.query) {
    const [qx, qy] = project(state.query[0], state.query[1]);
    ctx.strokeStyle = "#d02040"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(qx - 8, qy - 8); ctx.lineTo(qx + 8, qy + 8);
    ctx.moveTo(qx + 8, qy - 8); ctx.lineTo(qx - 8, qy + 8); ctx.stroke();
    ctx.lineWidth = 1;
  }
}

function nearestPoint(mx, my, radius = 8) {
  // A linear scan of the laid-out positions (100k points: well under a millisecond). A
  // drawn picture answers anywhere over it, not only near its centre.
  let best = -1, bestDist = Infinity;
  const n = state.map ? state.map.ids.length : 0;
  const { sx, sy } = state;
  const names = n ? state.map.thumbnails : null;
  const reach = Math.max(radius, state.pictureSide / 2) ** 2;
  for (let i = 0; i < n; i++) {
    const dx = sx[i] - mx, dy = sy[i] - my;
    const d = dx * dx + dy * dy;
    const within = names && names[i] && pictures.get(names[i]) ? reach : radius * radius;
    if (d < within && d < bestDist) { best = i; bestDist = d; }
  }
  return best;
}

// -- lasso: shift + drag (or the Lasso button) draws a loop; the points inside are listed
function drawLasso() {
  const path = state.lassoPath;
  if (!path || path.length < 2) return;
  ctx.strokeStyle = "#d02040"; ctx.fillStyle = "rgba(208,32,64,0.08)"; ctx.lineWidth = 1.5;
  ctx.setLineDash([5, 4]);
  ctx.beginPath();
  path.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  ctx.closePath(); ctx.fill(); ctx.stroke();
  ctx.setLineDash([]); ctx.lineWidth = 1;
}

function insideLoop(path, x, y) {
  // Even-odd rule: a ray to the right crosses the loop an odd number of times.
  let inside = false;
  for (let a = 0, b = path.length - 1; a < path.length; b = a++) {
    const [xa, ya] = path[a], [xb, yb] = path[b];
    if ((ya > y) !== (yb > y) && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside;
  }
  return inside;
}

function lassoSelect(path) {
  // The points inside the loop (screen positions), listed and marked on the map.
  const chosen = [];
  for (let i = 0; i < state.map.ids.length; i++) {
    if (insideLoop(path, state.sx[i], state.sy[i])) chosen.push(i);
  }
  state.lassoed = chosen;
  state.selected = -1;
  state.query = null;
  state.marked = new Map(chosen.map((i) => [i, 1]));
  $("#lasso-title").hidden = false;
  $("#lasso-title").textContent = `Lasso: ${chosen.length} selected`;
  $("#lasso-actions").hidden = chosen.length === 0;
  showView("map");
  listInto($("#lasso-list"), chosen.slice(0, 200).map((i) => ({
    label: state.map.text[i], score: 1, id: state.map.ids[i] })));
  requestDraw();
}

function exportLasso() {
  // The selected ids as a text file, one per line.
  const ids = state.lassoed.map((i) => state.map.ids[i]);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([ids.join("\n") + "\n"], { type: "text/plain" }));
  link.download = "selection.txt";
  link.click();
  return ids;
}

// The "Colour by" choice that asks the server for topics rather than a metadata key.
const BY_CLUSTER = "@cluster";

function clusterGroups(data) {
  // Cluster numbers -> their labels ("refund, money, return"); -1 = in no cluster.
  return data.clusters.map((c) => (c < 0 ? "no cluster" : `${c}: ${data.cluster_labels[c]}`));
}

async function loadTopics(data, colour) {
  // Topics arrive after the map is drawn: clustering a large space takes a while, and
  // the points should not wait for their colours or labels.
  if (colour) $("#legend").replaceChildren("finding topics…");
  const found = EXPORTED ? data : await api(`/map/clusters?method=${data.method}`);
  if (state.map !== data || !found.clusters) return; // the map was reloaded meanwhile
  data.clusters = found.clusters;
  data.cluster_labels = found.cluster_labels;
  state.topics = topicCentres(data);
  if (colour) setColours(clusterGroups(data));
  requestDraw();
}

function showMap(data) {
  data.index = new Map(data.ids.map((id, i) => [id, i]));
  state.map = data;
  state.marked = new Map();
  state.selected = -1;
  state.topics = null;
  points.setPoints(data.x, data.y);
  state.colours = colourGroups(data.groups);
  uploadColours();
  showLegend();
  const notices = [data.notice, points.kind === "webgl" ? null
    : "WebGL is not available in this browser: the map is drawn on a plain canvas (slower)"];
  $("#notice").textContent = notices.filter(Boolean).join(". ");
  $("#notice").hidden = !$("#notice").textContent;
  canvas.dataset.points = String(data.count);
  canvas.dataset.method = data.method;
  canvas.dataset.generation = String(data.generation);
  canvas.dataset.renderer = points.kind;
  status(`${data.count.toLocaleString()} items` +
    (data.total > data.count ? ` shown of ${data.total.toLocaleString()}` : "") +
    ` · ${data.method === "pca" ? "PCA" : "neighbour map (UMAP)"}`);
  requestDraw();
}

async function loadMap() {
  // PCA first (instant), then the default neighbour-preserving map when it is ready.
  const colourBy = $("#color-by").value;
  const byCluster = colourBy === BY_CLUSTER || (EXPORTED && !EXPORTED.map.color_by);
  const colour = colourBy && !byCluster ? `&color_by=${encodeURIComponent(colourBy)}` : "";
  canvas.dataset.ready = "0";
  if (!EXPORTED && !state.map) showMap(await api(`/map?method=pca${colour}`));
  const data = EXPORTED ? EXPORTED.map : await api(`/map?method=auto${colour}`);
  showMap(data);
  const select = $("#color-by");
  if (select.options.length === 2) {
    for (const key of data.keys) select.add(new Option(key, key));
  }
  canvas.dataset.ready = "1";
  await Promise.all([loadPictures(data), loadTopics(data, byCluster)]);
}

async function select(i) {
  if (i === undefined || i < 0) return;
  state.selected = i;
  state.query = null;
  const id = state.map.ids[i];
  $("#selected-title").hidden = false;
  $("#selected").textContent = state.map.text[i];
  const picture = thumbnailOf(i);
  if (picture) $("#selected").prepend(picture);
  showView("map");
  try {
    const { hits } = EXPORTED
      ? { hits: EXPORTED.neighbours[i].map(([j, score]) => ({ id: state.map.ids[j], score,
          text: state.map.text[j] })) }
      : await api(`/similar/${encodeURIComponent(id)}`, { k: 10 });
    state.marked = new Map(hits.map((h) => [state.map.index.get(h.id), h.score]));
    listInto($("#neighbours"), hits.map(hitRow));
  } catch (err) { status(err.message, true); }
  requestDraw();
}

// -- mouse: hover, click, drag to pan, wheel to zoom, shift + drag (or Lasso) to lasso ---
let drag = null;
canvas.addEventListener("mousedown", (event) => {
  const lasso = event.shiftKey || $("#lasso-mode").classList.contains("active");
  drag = { x: event.offsetX, y: event.offsetY, cx: view.cx, cy: view.cy, moved: false, lasso };
  if (lasso) state.lassoPath = [[event.offsetX, event.offsetY]];
});
canvas.addEventListener("mousemove", (event) => {
  const tip = $("#tooltip");
  if (drag) {
    const dx = event.offsetX - drag.x, dy = event.offsetY - drag.y;
    drag.moved = drag.moved || Math.hypot(dx, dy) > 4;
    if (drag.lasso) state.lassoPath.push([event.offsetX, event.offsetY]);
    else if (drag.moved) {
      const { kx, ky } = mapFrame();
      view.cx = drag.cx - dx / kx;
      view.cy = drag.cy - dy / ky;
      viewMoved();
    }
    tip.hidden = true;
    requestDraw();
    return;
  }
  const i = nearestPoint(event.offsetX, event.offsetY);
  tip.hidden = i < 0;
  if (i >= 0) {
    tip.textContent = state.map.text[i];
    const picture = thumbnailOf(i);
    if (picture) tip.prepend(picture);
    tip.style.left = `${event.offsetX + 12}px`;
    tip.style.top = `${event.offsetY + 12}px`;
  }
});
canvas.addEventListener("mouseup", (event) => {
  const done = drag;
  drag = null;
  if (!done) return;
  if (done.lasso && state.lassoPath.length > 2) lassoSelect(state.lassoPath);
  else if (!done.moved) select(nearestPoint(event.offsetX, event.offsetY));
  state.lassoPath = null;
  requestDraw();
});
canvas.addEventListener("mouseleave", () => { $("#tooltip").hidden = true; });
canvas.addEventListener("wheel", (event) => {
  // Zoom about the mouse: the map point under it stays under it.
  event.preventDefault();
  const before = mapFrame();
  const mx = (event.offsetX - before.x0) / before.kx, my = (event.offsetY - before.y0) / before.ky;
  view.zoom = Math.min(200, Math.max(0.5, view.zoom * Math.exp(-event.deltaY / 400)));
  const after = mapFrame();
  view.cx += mx - (event.offsetX - after.x0) / after.kx;
  view.cy += my - (event.offsetY - after.y0) / after.ky;
  viewMoved();
}, { passive: false });
window.addEventListener("resize", requestDraw);
$("#lasso-mode").addEventListener("click", () => $("#lasso-mode").classList.toggle("active"));
$("#reset-view").addEventListener("click", () => { Object.assign(view, { cx: 0, cy: 0, zoom: 1 }); requestDraw(); });
$("#lasso-export").addEventListener("click", exportLasso);
$("#lasso-open").addEventListener("click", () => {
  // The selection as a result list in the Search tab (every row scores 1: chosen by hand).
  showView("search");
  listInto($("#results"), state.lassoed.map((i) => ({ label: state.map.text[i], score: 1,
    id: state.map.ids[i] })));
});

// -- panels -----------------------------------------------------------------------------
let currentView = "map";
function showView(name) {
  currentView = name;
  if (name === "compare" && !$("#compare-table tbody").children.length) runCompare();
  for (const button of document.querySelectorAll("#tabs button")) {
    button.classList.toggle("active", button.dataset.view === name);
  }
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  draw();
}
for (const button of document.querySelectorAll("#tabs button")) {
  button.addEventListener("click", () => showView(button.dataset.view));
}

$("#search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const body = { query: $("#query").value, mode: $("#mode").value, k: 10 };
    const where = parseWhere($("#where").value);
    if (where) body.where = where;
    const { hits, position } = await api("/search", body);
    showHits($("#results"), hits, position);
  } catch (err) { status(err.message, true); }
});

// -- Compare: cosine of two texts under each representation, live as you type ----------
let compareTimer = null;
async function runCompare() {
  try {
    const { representations: rows, positions } = await api("/compare",
      { a: $("#cmp-a").value, b: $("#cmp-b").value });
    state.pair = positions;
    draw();
    $("#compare-table tbody").replaceChildren(...rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.key = row.key;
      const name = document.createElement("td");
      name.innerHTML = "<strong></strong><div class='sees'></div>";
      name.querySelector("strong").textContent = row.key;
      name.querySelector(".sees").textContent = row.sees;
      const value = document.createElement("td");
      value.className = "cosine";
      value.textContent = row.cosine.toFixed(3);
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${Math.max(0, row.cosine) * 100}%`;
      value.append(bar);
      tr.append(name, value);
      return tr;
    }));
  } catch (err) { status(err.message, true); }
}
for (const input of [$("#cmp-a"), $("#cmp-b")]) {
  input.addEventListener("input", () => {
    clearTimeout(compareTimer);
    compareTimer = setTimeout(runCompare, 250);
  });
}
for (const example of document.querySelectorAll(".examples button")) {
  example.addEventListener("click", () => {
    $("#cmp-a").value = example.dataset.a;
    $("#cmp-b").value = example.dataset.b;
    runCompare();
  });
}
$("#compare-form").addEventListener("submit", (event) => { event.preventDefault(); runCompare(); });

function words(form, path, body, list) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const rows = await api(path, body(), "");
      listInto(list, rows.map((r) => ({ label: r.word, score: r.score })));
    } catch (err) { status(err.message, true); }
  });
}
words($("#analogy-form"), "/analogy",
  () => ({ a: $("#a").value, b: $("#b").value, c: $("#c").value, k: 5 }), $("#analogies"));
words($("#nearest-form"), "/words/similar", () => ({ word: $("#word").value, k: 10 }),
  $("#nearest"));

function parseWhere(text) {
  // "kind=fresh, lang=en" -> {kind: "fresh", lang: "en"}; JSON passes through as is.
  text = text.trim();
  if (!text) return null;
  if (text.startsWith("{")) return JSON.parse(text);
  return Object.fromEntries(text.split(",").map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`filter ${JSON.stringify(pair.trim())}: write key=value`);
    return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  }));
}

function showHits(list, hits, position) {
  // Results in a panel, the same items marked on the map, the query's own spot crossed.
  state.selected = -1;
  state.query = position;
  state.marked = new Map(hits.filter((h) => state.map.index.has(h.id))
    .map((h) => [state.map.index.get(h.id), h.score]));
  listInto(list, hits.map(hitRow));
  draw();
}

async function searchImage() {
  const file = $("#image-file").files[0];
  if (!file) return;
  const dataUrl = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  $("#image-preview").src = dataUrl;
  $("#image-preview").hidden = false;
  const labels = $("#image-labels").value.split(",").map((l) => l.trim()).filter(Boolean);
  try {
    const { hits, position, predictions } = await api("/search_image",
      { image: dataUrl, k: 10, labels });
    listInto($("#image-predictions"), predictions.map((p) => ({ label: p.label, score: p.score })));
    showHits($("#image-results"), hits, position);
  } catch (err) { status(err.message, true); }
}
$("#image-file").addEventListener("change", searchImage);
$("#image-form").addEventListener("submit", (event) => { event.preventDefault(); searchImage(); });

$("#key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("embedspace-key", $("#key").value);
  $("#key-form").hidden = true;
  loadMap().catch((err) => status(err.message, true));
});

$("#color-by").addEventListener("change", () => loadMap().catch((e) => status(e.message, true)));

if (EXPORTED) {
  $("#color-by-label").hidden = true;
  for (const b of document.querySelectorAll("#tabs button:not([data-view='map'])")) b.hidden = true;
}
loadMap().catch((err) => status(err.message, true));
