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
const canvas = $("#map");
const ctx = canvas.getContext("2d");

function project(x, y) {
  // Map coordinates in [-1, 1] -> CSS pixels, same scale on both axes.
  const pad = 24, w = canvas.clientWidth - 2 * pad, h = canvas.clientHeight - 2 * pad;
  const size = Math.min(w, h) / 2;
  return [pad + w / 2 + x * size, pad + h / 2 - y * size];
}

function layout() {
  // Every point's screen position, once per draw: hover and click scan these typed
  // arrays instead of re-projecting each point on every mouse move.
  const n = state.map.ids.length;
  state.sx = new Float32Array(n);
  state.sy = new Float32Array(n);
  const [x0, y0] = project(0, 0), [x1, y1] = project(1, 1);
  const kx = x1 - x0, ky = y1 - y0;
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
  // -> [[colour, label, [point indices]], ...]; one fillStyle per group keeps drawing fast.
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

function draw() {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * dpr;
  canvas.height = canvas.clientHeight * dpr;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  if (!state.map) return;
  layout();
  const { sx, sy } = state;
  const dim = state.marked.size > 0 || state.selected >= 0;
  const n = state.map.ids.length;
  const r = n < 2000 ? 3 : n < 20000 ? 2 : 1;  // smaller dots as the map fills up
  ctx.globalAlpha = dim ? 0.25 : 0.8;
  for (const [colour, , idx] of state.colours) {
    ctx.fillStyle = colour;
    for (const i of idx) ctx.fillRect(sx[i] - r, sy[i] - r, 2 * r, 2 * r);
  }
  drawPictures();
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
  // A linear scan of the laid-out positions: no spatial index to keep in step. A drawn
  // picture answers anywhere over it, not only near its centre.
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

// The "Colour by" choice that asks the server for topics rather than a metadata key.
const BY_CLUSTER = "@cluster";

function clusterGroups(data) {
  // Cluster numbers -> their labels ("refund, money, return"); -1 = in no cluster.
  return data.clusters.map((c) => (c < 0 ? "no cluster" : `${c}: ${data.cluster_labels[c]}`));
}

async function colourByCluster(data) {
  // Topics arrive after the map is drawn: clustering a large space takes a while, and
  // the points should not wait for their colours.
  $("#legend").replaceChildren("finding topics…");
  const found = await api("/map/clusters");
  if (state.map !== data) return; // the map was reloaded meanwhile
  data.clusters = found.clusters;
  data.cluster_labels = found.cluster_labels;
  state.colours = colourGroups(clusterGroups(data));
  showLegend();
  draw();
}

async function loadMap() {
  const colourBy = $("#color-by").value;
  const byCluster = colourBy === BY_CLUSTER && !EXPORTED;
  const data = EXPORTED ? EXPORTED.map : await api(
    colourBy && !byCluster ? `/map?color_by=${encodeURIComponent(colourBy)}` : "/map");
  data.index = new Map(data.ids.map((id, i) => [id, i]));
  state.map = data;
  state.colours = colourGroups(data.groups);
  showLegend();
  const select = $("#color-by");
  if (select.options.length === 2) {
    for (const key of data.keys) select.add(new Option(key, key));
  }
  canvas.dataset.points = String(data.count);
  canvas.dataset.generation = String(data.generation);
  status(`${data.count.toLocaleString()} items`);
  draw();
  await Promise.all([loadPictures(data), byCluster && colourByCluster(data)]);
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
  draw();
}

canvas.addEventListener("mousemove", (event) => {
  const i = nearestPoint(event.offsetX, event.offsetY);
  const tip = $("#tooltip");
  tip.hidden = i < 0;
  if (i >= 0) {
    tip.textContent = state.map.text[i];
    const picture = thumbnailOf(i);
    if (picture) tip.prepend(picture);
    tip.style.left = `${event.offsetX + 12}px`;
    tip.style.top = `${event.offsetY + 12}px`;
  }
});
canvas.addEventListener("mouseleave", () => { $("#tooltip").hidden = true; });
canvas.addEventListener("click", (event) => select(nearestPoint(event.offsetX, event.offsetY)));
window.addEventListener("resize", draw);

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
