// points.js: the map's points on their own canvas, under the explorer's 2-D overlay.
// WebGL draws every point in one call from two buffers (positions, colours), so 100k
// points pan and zoom at frame rate; the view is two uniforms, never a re-upload. Where
// WebGL is missing, a 2-D canvas draws the same points (slower) and the page says so.
//
// While the view moves, only the first MOTION_POINTS of the points are drawn: points are
// uploaded in a shuffled order, so those are a uniform sample, drawn a little larger to
// keep the picture's density. Where WebGL runs on the CPU (SwiftShader in headless
// Chromium, on 2 busy cores) every frame of 100k points took ~70 ms; the sample keeps
// pan and zoom above 30 fps, and every point comes back when the view rests.
"use strict";

const MOTION_POINTS = 25000;

function shuffledOrder(n) {
  // A fixed pseudo-random permutation (same picture on every load).
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 16807) % 2147483647;
    const j = seed % (i + 1);
    const t = order[i]; order[i] = order[j]; order[j] = t;
  }
  return order;
}

function drawnCount(count, view) {
  // -> [points to draw, size factor]: a sample while the view moves (see above).
  if (!view.moving || count <= MOTION_POINTS) return [count, 1];
  return [MOTION_POINTS, Math.min(2, Math.sqrt(count / MOTION_POINTS))];
}

const POINT_VERTEX = `
attribute vec2 a_pos;
attribute vec4 a_col;
uniform vec2 u_k;     // map units -> CSS pixels (x, y scale)
uniform vec2 u_o;     // CSS pixel of the map origin
uniform vec2 u_px;    // canvas size in CSS pixels
uniform float u_size; // point diameter in device pixels
varying vec4 v_col;
void main() {
  vec2 s = u_o + a_pos * u_k;
  gl_Position = vec4(s.x / u_px.x * 2.0 - 1.0, 1.0 - s.y / u_px.y * 2.0, 0.0, 1.0);
  gl_PointSize = u_size;
  v_col = a_col;
}`;

const POINT_FRAGMENT = `
precision mediump float;
uniform float u_alpha;
varying vec4 v_col;
void main() {
  vec2 d = gl_PointCoord - 0.5;
  if (dot(d, d) > 0.25) discard;  // round dots
  float a = v_col.a * u_alpha;
  gl_FragColor = vec4(v_col.rgb * a, a);  // premultiplied, as the page composites it
}`;

function createPointLayer(canvas) {
  // -> {kind: "webgl" | "canvas", setPoints(x, y), setColours(rgba), draw(view)}.
  // view: {width, height (CSS px), dpr, kx, ky, x0, y0 (screen = x0 + x * kx), size, alpha,
  // moving (draw the motion sample)}
  let gl = null;
  if (!window.EMBEDSPACE_NO_WEBGL) {  // the no-WebGL fallback is testable on purpose
    gl = canvas.getContext("webgl", { antialias: false, preserveDrawingBuffer: true });
  }
  return gl ? glPointLayer(canvas, gl) : canvasPointLayer(canvas);
}

function fit(canvas, view) {
  // Resize the drawing buffer only when the canvas size changed: reallocating it on every
  // frame cost more than drawing 100k points.
  const w = Math.round(view.width * view.dpr), h = Math.round(view.height * view.dpr);
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
}

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
  return shader;
}

function glPointLayer(canvas, gl) {
  const program = gl.createProgram();
  gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, POINT_VERTEX));
  gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, POINT_FRAGMENT));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
  const where = (name) => gl.getUniformLocation(program, name);
  const u = { k: where("u_k"), o: where("u_o"), px: where("u_px"), size: where("u_size"),
    alpha: where("u_alpha") };
  const positions = gl.createBuffer(), colours = gl.createBuffer();
  const aPos = gl.getAttribLocation(program, "a_pos"), aCol = gl.getAttribLocation(program, "a_col");
  let count = 0, order = new Uint32Array(0);
  return {
    kind: "webgl",
    setPoints(x, y) {
      order = shuffledOrder(x.length);
      const xy = new Float32Array(2 * x.length);
      order.forEach((i, k) => { xy[2 * k] = x[i]; xy[2 * k + 1] = y[i]; });
      gl.bindBuffer(gl.ARRAY_BUFFER, positions);
      gl.bufferData(gl.ARRAY_BUFFER, xy, gl.STATIC_DRAW);
      count = x.length;
    },
    setColours(rgba) {
      const shuffled = new Uint8Array(rgba.length);
      order.forEach((i, k) => shuffled.set(rgba.subarray(4 * i, 4 * i + 4), 4 * k));
      gl.bindBuffer(gl.ARRAY_BUFFER, colours);
      gl.bufferData(gl.ARRAY_BUFFER, shuffled, gl.STATIC_DRAW);
    },
    draw(view) {
      fit(canvas, view);
      gl.viewport(0, 0, canvas.width, canvas.height);
      gl.clearColor(0, 0, 0, 0);
      gl.clear(gl.COLOR_BUFFER_BIT);
      if (!count) return;
      gl.useProgram(program);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      gl.bindBuffer(gl.ARRAY_BUFFER, positions);
      gl.enableVertexAttribArray(aPos);
      gl.vertexAttribPointer(aPos, 2, gl.FLOAT, false, 0, 0);
      gl.bindBuffer(gl.ARRAY_BUFFER, colours);
      gl.enableVertexAttribArray(aCol);
      gl.vertexAttribPointer(aCol, 4, gl.UNSIGNED_BYTE, true, 0, 0);
      gl.uniform2f(u.k, view.kx, view.ky);
      gl.uniform2f(u.o, view.x0, view.y0);
      gl.uniform2f(u.px, view.width, view.height);
      const [drawn, grow] = drawnCount(count, view);
      gl.uniform1f(u.size, view.size * grow * view.dpr);
      gl.uniform1f(u.alpha, view.alpha);
      gl.drawArrays(gl.POINTS, 0, drawn);
    },
    finish() { gl.finish(); },
  };
}

function canvasPointLayer(canvas) {
  // The same points with fillRect, one fillStyle per colour (points sorted by colour;
  // each colour's points in the shuffled order, so a prefix of each is the motion sample).
  const ctx = canvas.getContext("2d");
  let x = [], y = [], runs = [], order = new Uint32Array(0);
  return {
    kind: "canvas",
    setPoints(px, py) { x = px; y = py; order = shuffledOrder(px.length); },
    setColours(rgba) {
      const byColour = new Map();
      for (const i of order) {
        const key = `rgba(${rgba[4 * i]},${rgba[4 * i + 1]},${rgba[4 * i + 2]},${rgba[4 * i + 3] / 255})`;
        if (!byColour.has(key)) byColour.set(key, []);
        byColour.get(key).push(i);
      }
      runs = [...byColour.entries()];
    },
    draw(view) {
      fit(canvas, view);
      ctx.setTransform(view.dpr, 0, 0, view.dpr, 0, 0);
      ctx.clearRect(0, 0, view.width, view.height);
      ctx.globalAlpha = view.alpha;
      const [drawn, grow] = drawnCount(x.length, view);
      const r = (view.size * grow) / 2, share = drawn / Math.max(1, x.length);
      for (const [colour, all] of runs) {
        ctx.fillStyle = colour;
        const idx = share < 1 ? all.slice(0, Math.ceil(all.length * share)) : all;
        for (const i of idx) ctx.fillRect(view.x0 + x[i] * view.kx - r, view.y0 + y[i] * view.ky - r, 2 * r, 2 * r);
      }
      ctx.globalAlpha = 1;
    },
    finish() {},
  };
}
