// The tour: draws what GET /tour/data computed (see analysis/tour.py); no number is
// written in this file.
"use strict";

const $ = (sel) => document.querySelector(sel);
const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#9c755f"];
const state = { data: null, stage: 0, pictures: new Map() };

function toCanvas(canvas, x, y) {
  const pad = 50, w = canvas.width - 2 * pad, h = canvas.height - 2 * pad;
  return [pad + ((x + 1) / 2) * w, pad + ((1 - y) / 2) * h];
}

function drawShared(progress) {
  // Points of the stages shown so far; the newest stage moves in from the centre.
  const canvas = $("#shared-map"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const { points } = state.data.shared_space;
  const concepts = [...new Set(points.map((p) => p.concept))];
  const kinds = ["word", "sentence", "image"].slice(0, state.stage);
  const [cx, cy] = toCanvas(canvas, 0, 0);
  ctx.font = "13px system-ui, sans-serif";
  for (const p of points.filter((q) => kinds.includes(q.kind))) {
    const t = p.kind === kinds[kinds.length - 1] ? progress : 1;
    let [x, y] = toCanvas(canvas, p.x, p.y);
    x = cx + (x - cx) * t; y = cy + (y - cy) * t;
    const colour = COLOURS[concepts.indexOf(p.concept) % COLOURS.length];
    ctx.fillStyle = colour;
    if (p.kind === "image" && state.pictures.get(p.text)) {
      const img = state.pictures.get(p.text), side = 40;
      const k = side / Math.max(img.naturalWidth, img.naturalHeight);
      ctx.fillRect(x - img.naturalWidth * k / 2 - 2, y - img.naturalHeight * k / 2 - 2,
        img.naturalWidth * k + 4, img.naturalHeight * k + 4);
      ctx.drawImage(img, x - img.naturalWidth * k / 2, y - img.naturalHeight * k / 2,
        img.naturalWidth * k, img.naturalHeight * k);
    } else {
      ctx.beginPath(); ctx.arc(x, y, p.kind === "word" ? 4 : 6, 0, 2 * Math.PI); ctx.fill();
      const label = p.kind === "sentence" ? `“${p.text}”` : p.text;
      ctx.fillStyle = "#222";
      ctx.font = p.kind === "word" ? "bold 13px system-ui, sans-serif" : "italic 12px system-ui, sans-serif";
      ctx.fillText(label.length > 44 ? label.slice(0, 43) + "…" : label, x + 7, y + 4);
    }
  }
  const shown = points.filter((q) => kinds.includes(q.kind));
  const settled = shown.filter((p) => p.nearest_sentence === p.concept).length;
  $("#settled").textContent = state.stage ? `${settled} of ${shown.length} shown points are ` +
    "nearest to the sentence of their own concept (cosine in the full space)." : "";
  canvas.dataset.stage = String(state.stage);
  canvas.dataset.shown = String(shown.length);
}

function showStage(stage) {
  state.stage = stage;
  for (const b of document.querySelectorAll(".stages button")) {
    b.classList.toggle("active", Number(b.dataset.stage) === stage);
  }
  const started = performance.now();
  const step = (now) => {
    const t = Math.min(1, (now - started) / 600);
    drawShared(1 - (1 - t) ** 3);
    if (t < 1) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

function arrow(ctx, [x0, y0], [x1, y1], colour) {
  ctx.strokeStyle = colour; ctx.fillStyle = colour; ctx.lineWidth = 2.5;
  ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
  const a = Math.atan2(y1 - y0, x1 - x0);
  ctx.beginPath(); ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - 12 * Math.cos(a - 0.4), y1 - 12 * Math.sin(a - 0.4));
  ctx.lineTo(x1 - 12 * Math.cos(a + 0.4), y1 - 12 * Math.sin(a + 0.4));
  ctx.closePath(); ctx.fill();
}

function drawAnalogy() {
  const canvas = $("#analogy-map"), ctx = canvas.getContext("2d");
  const { points, arrows, answer, score } = state.data.analogy;
  const at = new Map(points.map((p) => [p.word, toCanvas(canvas, p.x, p.y)]));
  arrows.forEach(([from, to], k) => arrow(ctx, at.get(from), at.get(to), k ? "#d02040" : "#4e79a7"));
  ctx.font = "bold 14px system-ui, sans-serif";
  for (const p of points) {
    const [x, y] = at.get(p.word);
    ctx.fillStyle = p.word === answer ? "#d02040" : p.word.includes(" ") ? "#7a3fc0" : "#222";
    ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.fill();
    ctx.fillText(p.word, x + 8, y - 6);
  }
  $("#analogy-answer").textContent =
    `Nearest word to king − man + woman: ${answer} (cosine ${score.toFixed(3)}).`;
}

function fillTables() {
  const keys = ["one-hot", "bag-of-words", "tf-idf", "dense"];
  const sees = new Map(state.data.representations.map((r) => [r.key, r.sees]));
  const head = document.createElement("tr");
  head.append(...["a", "b", ...keys].map((k) => {
    const th = document.createElement("th");
    th.textContent = k;
    if (sees.has(k)) th.title = sees.get(k);
    return th;
  }));
  $("#pairs-table thead").replaceChildren(head);
  const cell = (text, num) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (num) td.className = "num";
    return td;
  };
  $("#pairs-table tbody").replaceChildren(...state.data.pairs.map((row) => {
    const tr = document.createElement("tr");
    tr.append(cell(row.a), cell(row.b), ...keys.map((k) => cell(row.scores[k].toFixed(3), true)));
    return tr;
  }));
  $("#negation-table tbody").replaceChildren(...state.data.negation.map((row) => {
    const tr = document.createElement("tr");
    tr.append(cell(row.a), cell(row.b), cell(row.bi_encoder.toFixed(3), true),
      cell(row.cross_encoder.toFixed(3), true));
    return tr;
  }));
}

async function main() {
  const key = sessionStorage.getItem("embedspace-key");
  const response = await fetch("/tour/data", { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  if (!response.ok) throw new Error(`tour data: ${response.status} (an API key? open the explorer first)`);
  state.data = await response.json();
  await Promise.all(state.data.shared_space.points.filter((p) => p.picture).map(async (p) => {
    const img = new Image();
    img.src = p.picture;
    await img.decode();
    state.pictures.set(p.text, img);
  }));
  fillTables();
  drawAnalogy();
  showStage(1);
  for (const b of document.querySelectorAll(".stages button")) {
    b.addEventListener("click", () => showStage(Number(b.dataset.stage)));
  }
  $("#status").textContent = `images: ${state.data.shared_space.images.join(", ")}`;
  document.body.dataset.ready = "1";
}
main().catch((err) => { $("#status").textContent = err.message; $("#status").className = "error"; });
