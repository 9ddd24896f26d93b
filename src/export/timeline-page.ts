/**
 * The timeline page's style and script, inlined into every page (`replay --html`, `/timeline`):
 * plain browser JavaScript kept as strings, so that the page needs no file beside the CLI's
 * own and no network. The browser tests in test/timeline/ run it in Chromium.
 *
 * Drawn by hand on a canvas rather than with uPlot: uPlot draws series of y over x, while this
 * view is lanes of intervals (start → end) with per-pixel aggregation when zoomed out; the hand
 * drawing is ~600 lines, and the page stays one file without a 50 kB library beside the data.
 *
 * No backquotes and no dollar-brace in here: the text sits inside String.raw template literals.
 */

export const PAGE_CSS = String.raw`
:root { --bg:#fff; --fg:#1d2430; --muted:#667085; --line:#d8dde6; --panel:#f6f7f9; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0; }
header { padding: 8px 12px; border-bottom: 1px solid var(--line); display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 15px; margin: 0; }
#range { color: var(--muted); font-variant-numeric: tabular-nums; }
#toolbar button { font: inherit; padding: 2px 8px; margin-right: 2px; }
#summary { padding: 4px 12px 8px; border-bottom: 1px solid var(--line); }
#summary table { border-collapse: collapse; }
#summary td { padding: 1px 12px 1px 0; vertical-align: top; }
#summary td:first-child { color: var(--muted); white-space: nowrap; }
#main { display: flex; min-height: 0; }
#chartbox { flex: 1; min-width: 0; position: relative; }
#cv { display: block; width: 100%; cursor: grab; outline: none; }
#cv.dragging { cursor: grabbing; }
#ov { display: block; width: 100%; height: 44px; border-top: 1px solid var(--line); cursor: crosshair; }
#hint { color: var(--muted); padding: 2px 12px; font-size: 12px; }
aside { width: 420px; border-left: 1px solid var(--line); background: var(--panel); padding: 8px; overflow: auto; max-height: calc(100vh - 60px); }
aside h2 { font-size: 13px; margin: 8px 0 4px; }
.legend span { display: inline-block; margin: 0 8px 2px 0; white-space: nowrap; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
#stalls { list-style: none; padding: 0; margin: 0; }
#stalls li { padding: 3px 4px; border-radius: 3px; cursor: pointer; font-variant-numeric: tabular-nums; }
#stalls li:hover { background: #e9ecf2; }
#stalls li.sel { background: #dfe6f5; }
#stalls li .at, #quiet li .at { color: var(--muted); font-size: 12px; }
#quiet { list-style: none; padding: 0; margin: 0; }
#quiet li { padding: 3px 4px; border-radius: 3px; cursor: pointer; font-variant-numeric: tabular-nums; }
#quiet li:hover { background: #e9ecf2; }
#details { margin: 4px 12px 12px; }
#details h2 { font-size: 13px; margin: 8px 0 4px; }
#details .expl { margin: 4px 0; }
#details table.nums td { padding: 0 10px 0 0; }
#lines { font: 11.5px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; background: #fff; border: 1px solid var(--line); padding: 4px; overflow-x: auto; white-space: pre; }
#lines .ln { color: var(--muted); user-select: none; }
#lines .hit { background: #fff2b3; display: inline-block; min-width: 100%; }
#tooltip { position: fixed; pointer-events: none; background: rgba(29,36,48,.92); color: #fff; padding: 4px 6px; border-radius: 3px; font-size: 12px; display: none; white-space: pre; z-index: 5; }
.live { color: #0a7d32; font-weight: 600; }
`;

export const PAGE_JS = String.raw`
(function () {
'use strict';
var T0 = performance.now();
var api = { ready: false, errors: [], dataVersion: 0 };
window.__timeline = api;
window.addEventListener('error', function (e) { api.errors.push(String(e.message)); });

var REASONS = ['io', 'notify', 'timeout', 'spurious', 'unknown'];
var REASON_COLOR = ['#2f9e44', '#1c7ed6', '#f08c00', '#d6336c', '#868e96'];
var POLL_COLOR = ['#9aa5b8', '#5c7cfa', '#ced4da']; // pending, ready, not logged
var POLL_NAMES = ['Pending', 'Ready', 'result not logged'];
var CONN_COLOR = ['#fab005', '#e03131']; // slow, blocked Connection::poll
var CONN_NAMES = ['slow', 'blocked'];
var QUIET_COLOR = '#868e96';
var STALL_COLOR = { slow_poll: '#fab005', blocked_poll: '#e03131', starved: '#9c36b5', silent: '#495057' };
var STALL_EXPLAIN = {
  slow_poll: 'A swarm poll cycle ran longer than the slow_poll threshold: the swarm task did a lot of work (or blocked briefly) inside one poll, and every other task on its thread waited.',
  blocked_poll: 'A swarm poll cycle did not return for longer than the blocked_poll threshold: something blocked the executor thread inside poll_next (blocking I/O, a lock, a long computation).',
  starved: 'epoll reported I/O readiness and no swarm poll started within the starved threshold: the relay woke on I/O, but the swarm task was not run (its executor thread was busy elsewhere).',
  silent: 'Nothing was logged while the reactor was neither waiting in epoll nor polling: the thread did something unlogged, or the process was stopped.'
};
var LABEL_W = 150, AXIS_H = 26, STALL_H = 16, LANE_H = 30, LANE_GAP = 6;

var cfg = JSON.parse(document.getElementById('timeline-config').textContent);
var D = null;          // the data document
var lanes = [];        // decoded lanes
var v0 = 0, v1 = 1;    // visible range, ns relative to originSec
var follow = true;     // live: the view follows the newest data
var followAll = true;  // live: until the user picks a range, the view is the whole window
var selected = -1;
var cv = document.getElementById('cv'), ov = document.getElementById('ov');
var ctx = cv.getContext('2d'), octx = ov.getContext('2d');
var W = 0, H = 0, OW = 0, dpr = 1;
var plotW = 1;
var laneMode = {};

// ---------------------------------------------------------------- decoding
function bytes(s) { var bin = atob(s); var n = bin.length; var u = new Uint8Array(n); for (var i = 0; i < n; i++) u[i] = bin.charCodeAt(i); return u; }
function varints(buf, n, zig) {
  var out = new Float64Array(n), p = 0;
  for (var k = 0; k < n; k++) {
    var v = 0, mul = 1, b;
    do { b = buf[p++]; v += (b & 127) * mul; mul *= 128; } while (b & 128);
    if (zig) v = (v % 2 === 1) ? -(v + 1) / 2 : v / 2;
    out[k] = v;
  }
  return out;
}
function decodeLane(l, unit) {
  var n = l.n;
  var ds = varints(bytes(l.start), n, true), dd = varints(bytes(l.dur), n, false);
  var start = new Float64Array(n), end = new Float64Array(n), maxEnd = new Float64Array(n);
  var s = 0, m = -Infinity;
  for (var i = 0; i < n; i++) {
    s += ds[i];
    start[i] = s * unit; end[i] = (s + dd[i]) * unit;
    if (end[i] > m) m = end[i];
    maxEnd[i] = m;
  }
  var timeout = null;
  if (l.timeout) {
    var t = varints(bytes(l.timeout), n, false);
    timeout = new Float64Array(n);
    for (var j = 0; j < n; j++) timeout[j] = t[j] === 0 ? -1 : t[j] === 1 ? -2 : (t[j] - 2) * unit;
  }
  return { id: l.id, kind: l.kind, label: l.label, n: n, start: start, end: end, maxEnd: maxEnd, code: bytes(l.code), timeout: timeout, y0: 0, pyramid: null };
}
function load(data) {
  D = data;
  if (!D.quiet) D.quiet = [];
  lanes = D.lanes.map(function (l) { return decodeLane(l, D.unitNs); });
  // small lanes are drawn from their bars at any zoom; big ones get the density pyramid
  for (var k = 0; k < lanes.length; k++) if (lanes[k].n > PYR_MIN_BARS) lanes[k].pyramid = buildPyramid(lanes[k]);
  var y = AXIS_H + STALL_H + LANE_GAP;
  for (var i = 0; i < lanes.length; i++) { lanes[i].y0 = y; y += LANE_H + LANE_GAP; }
  H = Math.max(y + 4, AXIS_H + STALL_H + 60);
  api.dataVersion++;
}

// ---------------------------------------------------------------- time
function pad(n, w) { var s = String(n); while (s.length < w) s = '0' + s; return s; }
function digits() { return D.unitNs === 1 ? 9 : 6; }
function splitNs(ns) { var sec = Math.floor(ns / 1e9); return { sec: D.originSec + sec, frac: Math.round(ns - sec * 1e9) }; }
function iso(ns, dg) {
  var t = splitNs(ns); if (t.frac >= 1e9) { t.sec++; t.frac -= 1e9; }
  var d = new Date(t.sec * 1000).toISOString().slice(0, 19);
  dg = dg === undefined ? digits() : dg;
  return dg > 0 ? d + '.' + pad(t.frac, 9).slice(0, dg) + 'Z' : d + 'Z';
}
function clock(ns, dg) { return iso(ns, dg).slice(11, -1); }
function dur(ns) {
  var a = Math.abs(ns);
  if (a >= 3600e9) return (ns / 3600e9).toFixed(2).replace(/\.?0+$/, '') + 'h';
  if (a >= 60e9) return (ns / 60e9).toFixed(2).replace(/\.?0+$/, '') + 'min';
  if (a >= 1e9) return (ns / 1e9).toFixed(6).replace(/\.?0+$/, '') + 's';
  if (a >= 1e6) return (ns / 1e6).toFixed(3).replace(/\.?0+$/, '') + 'ms';
  if (a >= 1e3) return (ns / 1e3).toFixed(3).replace(/\.?0+$/, '') + '\u00b5s';
  return Math.round(ns) + 'ns';
}
function fragTime(ns) { var t = splitNs(ns); return t.sec + '.' + pad(t.frac, 9).replace(/0+$/, '').replace(/^$/, '0'); }
function parseFrag(s) {
  var m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(s); if (!m) return NaN;
  var frac = m[2] ? Number((m[2] + '000000000').slice(0, 9)) : 0;
  return (Number(m[1]) - D.originSec) * 1e9 + frac;
}

// ---------------------------------------------------------------- view
function minSpan() { return D.unitNs === 1 ? 100 : 1000; }
function fullRange() { var pad = Math.max((D.endNs - D.startNs) * 0.01, minSpan()); return [D.startNs - pad, D.endNs + pad]; }
function setView(a, b, keepFollow) {
  var f = fullRange(), maxSpan = (f[1] - f[0]) * 1.5;
  var span = Math.min(Math.max(b - a, minSpan()), maxSpan);
  var mid = (a + b) / 2;
  a = mid - span / 2; b = mid + span / 2;
  var lo = f[0] - span * 0.5, hi = f[1] + span * 0.5;
  if (a < lo) { b += lo - a; a = lo; }
  if (b > hi) { a -= b - hi; b = hi; }
  v0 = a; v1 = b;
  if (!keepFollow && cfg.live) { follow = v1 >= D.endNs; followAll = false; }
  scheduleDraw();
  scheduleHash();
}
function zoomAt(factor, x) {
  var frac = Math.min(Math.max((x - LABEL_W) / plotW, 0), 1);
  var t = v0 + frac * (v1 - v0), span = (v1 - v0) * factor;
  setView(t - frac * span, t - frac * span + span);
}
function pan(dx) { var d = dx / plotW * (v1 - v0); setView(v0 + d, v1 + d); }
function X(t) { return LABEL_W + (t - v0) / (v1 - v0) * plotW; }
function T(x) { return v0 + (x - LABEL_W) / plotW * (v1 - v0); }

var hashTimer = 0;
function scheduleHash() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(function () {
    try { history.replaceState(null, '', '#t=' + fragTime(v0) + ',' + fragTime(v1)); } catch (e) { /* file:// in some browsers */ }
  }, 150);
}
function viewFromHash() {
  var m = /[#&]t=([^,&]+),([^&]+)/.exec(location.hash);
  if (!m) return false;
  var a = parseFrag(m[1]), b = parseFrag(m[2]);
  if (!(b > a)) return false;
  setView(a, b); return true;
}

// ---------------------------------------------------------------- drawing
var drawPending = false;
function scheduleDraw() { if (!drawPending) { drawPending = true; requestAnimationFrame(function () { drawPending = false; draw(); }); } }
function resize() {
  dpr = window.devicePixelRatio || 1;
  W = cv.clientWidth; plotW = Math.max(W - LABEL_W - 8, 10);
  cv.style.height = H + 'px';
  cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr);
  OW = ov.clientWidth; ov.width = Math.round(OW * dpr); ov.height = Math.round(44 * dpr);
}
function lowerBound(a, x, lo, hi) { while (lo < hi) { var m = (lo + hi) >> 1; if (a[m] < x) lo = m + 1; else hi = m; } return lo; }
function upperBound(a, x, lo, hi) { while (lo < hi) { var m = (lo + hi) >> 1; if (a[m] <= x) lo = m + 1; else hi = m; } return lo; }
function visibleRange(l, a, b) { return [lowerBound(l.maxEnd, a, 0, l.n), upperBound(l.start, b, 0, l.n)]; }

function ticks(a, b, px) {
  var span = b - a, target = span / Math.max(px / 110, 1);
  var steps = [];
  for (var e = 0; e <= 9; e++) { var p = Math.pow(10, e); steps.push(p, 2 * p, 5 * p); }
  steps = steps.filter(function (s) { return s < 1e10; }).concat([10e9, 15e9, 30e9, 60e9, 120e9, 300e9, 600e9, 900e9, 1800e9, 3600e9, 7200e9, 10800e9, 21600e9, 43200e9, 86400e9]);
  var step = steps[steps.length - 1];
  for (var i = 0; i < steps.length; i++) if (steps[i] >= target) { step = steps[i]; break; }
  var dg = step >= 1e9 ? 0 : step >= 1e6 ? (step >= 1e8 ? 1 : step >= 1e7 ? 2 : 3) : step >= 1e3 ? (step >= 1e5 ? 4 : step >= 1e4 ? 5 : 6) : (step >= 100 ? 7 : step >= 10 ? 8 : 9);
  // steps of whole seconds fall on the clock's (origin is a whole second, so finer ones already do)
  var phase = step >= 1e9 ? (D.originSec % (step / 1e9)) * 1e9 : 0;
  var out = [], first = Math.ceil((a + phase) / step) * step - phase;
  for (var t = first; t <= b && out.length < 200; t += step) out.push(t);
  return { step: step, digits: dg, list: out };
}

function draw() {
  if (!D) return;
  if (cv.clientWidth !== W) resize();
  var c = ctx;
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.clearRect(0, 0, W, H);
  c.font = '12px system-ui, sans-serif';
  // axis
  var tk = ticks(v0, v1, plotW);
  c.fillStyle = '#667085'; c.strokeStyle = '#eceff4'; c.lineWidth = 1;
  for (var i = 0; i < tk.list.length; i++) {
    var x = Math.round(X(tk.list[i])) + 0.5;
    c.beginPath(); c.moveTo(x, AXIS_H - 6); c.lineTo(x, H); c.stroke();
    c.fillText(clock(tk.list[i], tk.digits), x + 3, 14);
  }
  c.fillStyle = '#1d2430';
  c.fillText('stalls', 8, AXIS_H + 12);
  // lanes
  for (var li = 0; li < lanes.length; li++) drawLane(lanes[li]);
  drawOpen();
  drawQuiet();
  drawStalls();
  // label column on top of anything that spilled left
  c.fillStyle = '#fff'; c.fillRect(0, AXIS_H, LABEL_W - 4, H - AXIS_H);
  c.fillStyle = '#1d2430';
  c.fillText('stalls', 8, AXIS_H + 12);
  for (var lj = 0; lj < lanes.length; lj++) {
    var l = lanes[lj];
    c.fillText(l.label, 8, l.y0 + 13);
    c.fillStyle = '#667085';
    c.fillText(l.n + (laneMode[l.id] === 'density' ? ' bars \u00b7 density' : ' bars'), 8, l.y0 + 26);
    c.fillStyle = '#1d2430';
  }
  drawOverview();
  document.getElementById('range').textContent = (lanes.length === 0 && allStalls().length === 0 && D.quiet.length === 0)
    ? (cfg.live ? 'nothing logged in the window yet' : 'nothing to draw: the log has no epoll waits, poll cycles or stalls')
    : iso(v0) + ' \u2192 ' + iso(v1) + '  (' + dur(v1 - v0) + ' shown)';
}

function drawLane(l) {
  var c = ctx, y = l.y0, h = LANE_H;
  c.fillStyle = '#f8f9fb'; c.fillRect(LABEL_W, y, plotW, h);
  var r = visibleRange(l, v0, v1), i0 = r[0], i1 = r[1], count = i1 - i0;
  var scale = plotW / (v1 - v0);
  if (count > plotW * 1.5) {
    laneMode[l.id] = 'density';
    drawDensity(l, i0, i1, scale);
    return;
  }
  laneMode[l.id] = 'bars';
  for (var i = i0; i < i1; i++) {
    var s = l.start[i], e = l.end[i];
    if (e < v0 || s > v1) continue;
    var x0 = LABEL_W + (s - v0) * scale, x1 = LABEL_W + (e - v0) * scale;
    if (x0 < LABEL_W - 2) x0 = LABEL_W - 2;
    if (x1 > LABEL_W + plotW + 2) x1 = LABEL_W + plotW + 2;
    var w = Math.max(x1 - x0, 1), code = l.code[i];
    if (l.kind === 'wait') {
      if (l.timeout && l.timeout[i] >= 0) {
        var xt = LABEL_W + (s + l.timeout[i] - v0) * scale;
        c.strokeStyle = '#adb5bd'; c.lineWidth = 1; c.setLineDash([3, 2]);
        c.beginPath(); c.moveTo(x0, y + h - 3.5); c.lineTo(Math.min(xt, LABEL_W + plotW + 2), y + h - 3.5); c.stroke();
        c.setLineDash([]);
        if (xt <= LABEL_W + plotW) { c.beginPath(); c.moveTo(xt, y + h - 8); c.lineTo(xt, y + h); c.stroke(); }
      }
      c.fillStyle = REASON_COLOR[code & 7] || '#868e96';
      c.globalAlpha = (code & 0x10) ? 0.45 : 1;
      c.fillRect(x0, y + 4, w, h - 12);
      c.globalAlpha = 1;
    } else if (l.kind === 'conn') {
      c.fillStyle = CONN_COLOR[code] || '#868e96';
      c.fillRect(x0, y + 4, w, h - 8);
    } else {
      c.fillStyle = POLL_COLOR[code] || '#ced4da';
      c.fillRect(x0, y + 4, w, h - 8);
    }
  }
}

// Density pyramid, built once per data load: bar counts per bin (by reason/result), longest bar,
// and whether a bar covers the bin, at PYR_BINS bins over the whole range and each coarser level
// (halving). Zoomed out, a frame then costs O(bins in view) instead of O(bars in view).
// Level 0 has about 4 bars per bin (1024 … 65536 bins): the pyramid stays smaller than the bars.
var PYR_MIN_BARS = 1000;
function buildPyramid(l) {
  var B = 1024; while (B < 65536 && B * 4 < l.n) B *= 2;
  var f = fullRange(), bw = (f[1] - f[0]) / B;
  var cnt = new Uint32Array(B), kinds = new Uint32Array(B * 5), maxd = new Float64Array(B), diff = new Int32Array(B + 1);
  for (var i = 0; i < l.n; i++) {
    var b = Math.floor((l.start[i] - f[0]) / bw); if (b < 0) b = 0; if (b >= B) b = B - 1;
    cnt[b]++;
    kinds[b * 5 + (l.kind === 'wait' ? (l.code[i] & 7) : l.code[i])]++;
    var d = l.end[i] - l.start[i]; if (d > maxd[b]) maxd[b] = d;
    var e = Math.floor((l.end[i] - f[0]) / bw); if (e >= B) e = B - 1;
    if (e > b) { diff[b]++; diff[e]--; }
  }
  var cover = new Uint8Array(B), run = 0;
  for (var k = 0; k < B; k++) { run += diff[k]; cover[k] = run > 0 ? 1 : 0; }
  var levels = [{ bw: bw, cnt: cnt, kinds: kinds, maxd: maxd, cover: cover }];
  while (levels[levels.length - 1].cnt.length > 512) {
    var p = levels[levels.length - 1], m = p.cnt.length >> 1;
    var q = { bw: p.bw * 2, cnt: new Uint32Array(m), kinds: new Uint32Array(m * 5), maxd: new Float64Array(m), cover: new Uint8Array(m) };
    for (var j = 0; j < m; j++) {
      q.cnt[j] = p.cnt[2 * j] + p.cnt[2 * j + 1];
      for (var r = 0; r < 5; r++) q.kinds[j * 5 + r] = p.kinds[(2 * j) * 5 + r] + p.kinds[(2 * j + 1) * 5 + r];
      q.maxd[j] = Math.max(p.maxd[2 * j], p.maxd[2 * j + 1]);
      q.cover[j] = p.cover[2 * j] | p.cover[2 * j + 1];
    }
    levels.push(q);
  }
  return { f0: f[0], levels: levels };
}

function drawDensity(l, i0, i1, scale) {
  var c = ctx, y = l.y0, h = LANE_H, n = Math.ceil(plotW) + 1;
  var cnt = new Uint32Array(n), maxd = new Float64Array(n), cover = new Float64Array(n + 1), kinds = new Uint32Array(n * 8);
  var pxNs = 1 / scale, pyr = l.pyramid, lv = null;
  if (pyr) for (var li = pyr.levels.length - 1; li >= 0; li--) if (pyr.levels[li].bw <= pxNs) { lv = pyr.levels[li]; break; }
  if (lv) {
    // whole bins map into one pixel each (a bin is at most a pixel wide)
    l.densitySource = 'pyramid';
    var b0 = Math.max(0, Math.floor((v0 - pyr.f0) / lv.bw)), b1 = Math.min(lv.cnt.length - 1, Math.ceil((v1 - pyr.f0) / lv.bw));
    for (var b = b0; b <= b1; b++) {
      var bx = Math.floor((pyr.f0 + b * lv.bw - v0) * scale); if (bx < 0) bx = 0; if (bx >= n) break;
      if (lv.cover[b]) { cover[bx]++; cover[bx + 1]--; }
      if (lv.cnt[b] === 0) continue;
      cnt[bx] += lv.cnt[b];
      if (lv.maxd[b] > maxd[bx]) maxd[bx] = lv.maxd[b];
      for (var r = 0; r < 5; r++) kinds[bx * 8 + r] += lv.kinds[b * 5 + r];
    }
    i1 = i0; // the bars are not walked
  } else l.densitySource = 'bars';
  for (var i = i0; i < i1; i++) {
    var s = l.start[i], e = l.end[i];
    var px = Math.floor((s - v0) * scale); if (px < 0) px = 0; if (px >= n) continue;
    cnt[px]++;
    var d = e - s; if (d > maxd[px]) maxd[px] = d;
    kinds[px * 8 + (l.kind === 'wait' ? (l.code[i] & 7) : l.code[i])]++;
    var qx = Math.floor((e - v0) * scale); if (qx >= n) qx = n - 1;
    if (qx > px) { cover[px]++; cover[qx]--; }
  }
  var maxc = 1; for (var k = 0; k < n; k++) if (cnt[k] > maxc) maxc = cnt[k];
  var lm = Math.log(1 + maxc), run = 0;
  var colors = l.kind === 'wait' ? REASON_COLOR : l.kind === 'conn' ? CONN_COLOR : POLL_COLOR;
  for (var x = 0; x < n; x++) {
    run += cover[x];
    if (run > 0) { c.fillStyle = l.kind === 'wait' ? 'rgba(47,158,68,.18)' : 'rgba(92,124,250,.18)'; c.fillRect(LABEL_W + x, y + 4, 1, h - 8); }
    if (cnt[x] === 0) continue;
    var best = 0; for (var q = 1; q < 5; q++) if (kinds[x * 8 + q] > kinds[x * 8 + best]) best = q;
    var bh = Math.max(2, (h - 8) * Math.log(1 + cnt[x]) / lm);
    c.fillStyle = colors[best] || '#868e96';
    c.fillRect(LABEL_W + x, y + h - 4 - bh, 1, bh);
  }
  l.density = { cnt: cnt, maxd: maxd };
}

function stallBox(s) {
  var x0 = X(s.startNs), x1 = X(s.endNs);
  if (x1 - x0 < 3) { var m = (x0 + x1) / 2; x0 = m - 1.5; x1 = m + 1.5; }
  return [x0, x1];
}
function allStalls() {
  var list = D.stalls.slice();
  if (D.active) list.push({ kind: D.active.kind, startNs: D.active.startNs, endNs: D.active.startNs + D.active.durationNs, durationNs: D.active.durationNs, start: D.active.start, end: '(in progress)', at: D.active.at, detail: 'in progress: raised by the live watchdog', lines: null, active: true });
  return list;
}
function drawStalls() {
  var c = ctx, list = allStalls();
  for (var i = 0; i < list.length; i++) {
    var s = list[i], b = stallBox(s);
    if (b[1] < LABEL_W || b[0] > LABEL_W + plotW) continue;
    var x0 = Math.max(b[0], LABEL_W), x1 = Math.min(b[1], LABEL_W + plotW);
    c.fillStyle = STALL_COLOR[s.kind];
    c.globalAlpha = 0.16; c.fillRect(x0, AXIS_H, x1 - x0, H - AXIS_H);
    c.globalAlpha = 1; c.fillRect(x0, AXIS_H + 2, x1 - x0, STALL_H - 4);
    if (s.active) { c.strokeStyle = '#000'; c.setLineDash([4, 3]); c.strokeRect(x0 + 0.5, AXIS_H + 1.5, x1 - x0 - 1, STALL_H - 3); c.setLineDash([]); }
    if (i === selected) { c.strokeStyle = '#1d2430'; c.lineWidth = 2; c.strokeRect(x0, AXIS_H + 1, x1 - x0, H - AXIS_H - 2); c.lineWidth = 1; }
  }
}
// Quiet stretches (span-based relays: connections open, nothing logged) are not stalls: an idle
// executor and a blocked one look the same without reactor lines. Drawn in the stall row but
// hatched grey and outlined, never filled like a stall, and not in the stall list.
function quietBox(q) {
  var x0 = X(q.startNs), x1 = X(q.endNs);
  if (x1 - x0 < 3) { var m = (x0 + x1) / 2; x0 = m - 1.5; x1 = m + 1.5; }
  return [x0, x1];
}
function drawQuiet() {
  var c = ctx;
  for (var i = 0; i < D.quiet.length; i++) {
    var b = quietBox(D.quiet[i]);
    if (b[1] < LABEL_W || b[0] > LABEL_W + plotW) continue;
    var x0 = Math.max(b[0], LABEL_W), x1 = Math.min(b[1], LABEL_W + plotW);
    c.save();
    c.beginPath(); c.rect(x0, AXIS_H + 2, x1 - x0, STALL_H - 4); c.clip();
    c.strokeStyle = QUIET_COLOR; c.lineWidth = 1;
    for (var hx = x0 - STALL_H; hx < x1; hx += 5) { c.beginPath(); c.moveTo(hx, AXIS_H + STALL_H - 2); c.lineTo(hx + STALL_H - 4, AXIS_H + 2); c.stroke(); }
    c.restore();
    c.strokeStyle = QUIET_COLOR; c.setLineDash([2, 2]); c.strokeRect(x0 + 0.5, AXIS_H + 2.5, x1 - x0 - 1, STALL_H - 5); c.setLineDash([]);
    c.fillStyle = QUIET_COLOR; c.globalAlpha = 0.06; c.fillRect(x0, AXIS_H + STALL_H, x1 - x0, H - AXIS_H - STALL_H); c.globalAlpha = 1;
  }
}
function drawOpen() {
  var c = ctx;
  for (var i = 0; i < D.unfinished.length; i++) {
    var u = D.unfinished[i], lane = null;
    for (var k = 0; k < lanes.length; k++) if (lanes[k].id === u.lane) lane = lanes[k];
    if (!lane) continue;
    var x0 = Math.max(X(u.sinceNs), LABEL_W - 2), x1 = Math.min(X(u.endNs), LABEL_W + plotW + 2);
    if (x1 < LABEL_W || x0 > LABEL_W + plotW) continue;
    var w = Math.max(x1 - x0, 2);
    c.strokeStyle = '#1d2430'; c.lineWidth = 1.5; c.setLineDash([4, 3]);
    c.beginPath(); c.moveTo(x0 + w, lane.y0 + 4); c.lineTo(x0, lane.y0 + 4); c.lineTo(x0, lane.y0 + LANE_H - 4); c.lineTo(x0 + w, lane.y0 + LANE_H - 4); c.stroke();
    c.setLineDash([]); c.lineWidth = 1;
  }
}

var ovCache = null;
function drawOverview() {
  var c = octx, f = fullRange(), sc = OW / (f[1] - f[0]);
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.clearRect(0, 0, OW, 44);
  c.fillStyle = '#f8f9fb'; c.fillRect(0, 0, OW, 44);
  // the whole log's histogram changes only with the data or the width: counted once for both
  if (!ovCache || ovCache.data !== D || ovCache.w !== OW) {
    var h0 = new Uint32Array(OW + 1);
    for (var li = 0; li < lanes.length; li++) {
      var l = lanes[li];
      for (var i = 0; i < l.n; i++) { var x = Math.floor((l.start[i] - f[0]) * sc); if (x >= 0 && x <= OW) { h0[x]++; } }
    }
    ovCache = { data: D, w: OW, cnt: h0 };
  }
  var cnt = ovCache.cnt, maxc = 1;
  for (var k = 0; k <= OW; k++) if (cnt[k] > maxc) maxc = cnt[k];
  var lm = Math.log(1 + maxc);
  c.fillStyle = '#adb5bd';
  for (var j = 0; j <= OW; j++) if (cnt[j]) { var h = 2 + 24 * Math.log(1 + cnt[j]) / lm; c.fillRect(j, 40 - h, 1, h); }
  var list = allStalls();
  for (var s = 0; s < list.length; s++) {
    var a = (list[s].startNs - f[0]) * sc, b = (list[s].endNs - f[0]) * sc;
    c.fillStyle = STALL_COLOR[list[s].kind]; c.fillRect(a, 2, Math.max(b - a, 2), 8);
  }
  var x0 = (v0 - f[0]) * sc, x1 = (v1 - f[0]) * sc;
  c.fillStyle = 'rgba(28,126,214,.15)'; c.fillRect(x0, 0, Math.max(x1 - x0, 2), 44);
  c.strokeStyle = '#1c7ed6'; c.strokeRect(x0 + 0.5, 0.5, Math.max(x1 - x0, 2) - 1, 43);
}

// ---------------------------------------------------------------- side panel
function esc(s) { return String(s).replace(/[&<>"]/g, function (ch) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch]; }); }
function renderSummary() {
  var rows = D.summary.map(function (r) { return '<tr><td>' + esc(r[0]) + '</td><td>' + esc(r[1]) + '</td></tr>'; });
  if (D.dropped) rows.push('<tr><td>not drawn</td><td>' + D.dropped + ' bars (over the bar limit)</td></tr>');
  document.getElementById('summary-table').innerHTML = rows.join('');
}
function renderLegend() {
  var h = [];
  REASONS.forEach(function (r, i) { h.push('<span><i class="sw" style="background:' + REASON_COLOR[i] + '"></i>wait woken by ' + r + '</span>'); });
  POLL_NAMES.forEach(function (r, i) { h.push('<span><i class="sw" style="background:' + POLL_COLOR[i] + '"></i>poll ' + r + '</span>'); });
  CONN_NAMES.forEach(function (r, i) { h.push('<span><i class="sw" style="background:' + CONN_COLOR[i] + '"></i>' + r + ' Connection::poll</span>'); });
  h.push('<span><i class="sw" style="background:repeating-linear-gradient(135deg,' + QUIET_COLOR + ' 0 1px,#fff 1px 4px);border:1px dashed ' + QUIET_COLOR + '"></i>quiet, connections open (not a stall)</span>');
  Object.keys(STALL_COLOR).forEach(function (k) { h.push('<span><i class="sw" style="background:' + STALL_COLOR[k] + '"></i>' + k + '</span>'); });
  h.push('<span>- - - timeout of a wait; [- - open at the end of input</span>');
  document.getElementById('legend').innerHTML = h.join('');
}
function renderStallList() {
  var list = allStalls();
  var counts = Object.keys(D.stallCounts).map(function (k) { return k + ' ' + D.stallCounts[k]; }).join(', ');
  document.getElementById('stall-counts').textContent = counts + (D.stalls.length < sum(D.stallCounts) ? ' (' + D.stalls.length + ' listed)' : '');
  document.getElementById('stalls').innerHTML = list.map(function (s, i) {
    return '<li data-i="' + i + '"' + (i === selected ? ' class="sel"' : '') + '><i class="sw" style="background:' + STALL_COLOR[s.kind] + '"></i><b>' + s.kind + '</b> ' + esc(clock(s.startNs)) + ' \u00b7 ' + dur(s.durationNs) + (s.active ? ' <b>(in progress)</b>' : '') + '<br><span class="at">' + esc(s.at) + '</span></li>';
  }).join('');
}
function renderQuietList() {
  var box = document.getElementById('quiet');
  if (!box) return;
  document.getElementById('quiet-count').textContent = D.quiet.length ? String(D.quietCount) + (D.quiet.length < D.quietCount ? ' (' + D.quiet.length + ' listed)' : '') : '';
  box.innerHTML = D.quiet.map(function (q, i) {
    return '<li data-q="' + i + '"><i class="sw" style="background:' + QUIET_COLOR + '"></i><b>quiet</b> ' + esc(clock(q.startNs)) + ' · ' + dur(q.durationNs) + ', ' + q.openConnections + ' connections open<br><span class="at">' + esc(q.at) + ' · not a stall: no reactor lines, an idle and a blocked executor look the same</span></li>';
  }).join('');
  document.getElementById('quiet-section').style.display = D.quiet.length ? '' : 'none';
}
function sum(o) { var n = 0; for (var k in o) n += o[k]; return n; }
function selectStall(i, zoom) {
  var list = allStalls(), s = list[i];
  if (!s) return;
  selected = i;
  if (zoom !== false) {
    var d = Math.max(s.endNs - s.startNs, minSpan() * 10), padNs = d * 0.6;
    setView(s.startNs - padNs, s.endNs + padNs);
  }
  var box = document.getElementById('details');
  var lines = s.lines
    ? s.lines.map(function (l) { var t = '<span class="ln">' + esc(s.file) + ':' + l.n + '</span>  ' + esc(l.text); return l.n === s.line ? '<span class="hit">' + t + '</span>' : t; }).join('\n')
    : (s.active ? 'The lines come when the stall ends.' : 'The log lines could not be read back (stdin, or the file is gone).');
  box.innerHTML = '<h2>' + s.kind + (s.active ? ' (in progress)' : '') + '</h2>' +
    '<p class="expl">' + esc(STALL_EXPLAIN[s.kind]) + '</p><p class="expl"><i>' + esc(s.detail) + '</i></p>' +
    '<table class="nums"><tr><td>start</td><td>' + esc(s.start) + '</td></tr><tr><td>end</td><td>' + esc(s.end) + '</td></tr>' +
    '<tr><td>duration</td><td>' + dur(s.durationNs) + ' (' + s.durationNs + ' ns)</td></tr><tr><td>at</td><td>' + esc(s.at) + '</td></tr></table>' +
    '<h2>log lines</h2><div id="lines">' + lines + '</div>';
  renderStallList();
  scheduleDraw();
}
api.selectStall = function (i) { selectStall(i); };
api.setView = function (a, b) { setView(a, b); draw(); };
api.fragment = function () { return '#t=' + fragTime(v0) + ',' + fragTime(v1); };
api.view = function () { return { startNs: v0, endNs: v1, spanNs: v1 - v0, start: iso(v0), end: iso(v1) }; };
api.data = function () { return D && { originSec: D.originSec, startNs: D.startNs, endNs: D.endNs, unitNs: D.unitNs, stallCounts: D.stallCounts, dropped: D.dropped }; };
api.plot = function () { var r = cv.getBoundingClientRect(); return { left: r.left + LABEL_W, top: r.top, width: plotW, height: H, stallTop: r.top + AXIS_H, stallHeight: STALL_H }; };
api.stallRegions = function () {
  var r = cv.getBoundingClientRect();
  return allStalls().map(function (s) { var b = stallBox(s); return { kind: s.kind, start: s.start, end: s.end, startNs: s.startNs, endNs: s.endNs, at: s.at, active: !!s.active, x0: r.left + b[0], x1: r.left + b[1], y0: r.top + AXIS_H, y1: r.top + H, visible: b[1] >= LABEL_W && b[0] <= LABEL_W + plotW }; });
};
api.unfinished = function () { return D.unfinished.map(function (u) { return { what: u.what, lane: u.lane, since: u.since }; }); };
api.quietRegions = function () {
  var r = cv.getBoundingClientRect();
  return D.quiet.map(function (q) { var b = quietBox(q); return { start: q.start, startNs: q.startNs, endNs: q.endNs, durationNs: q.durationNs, openConnections: q.openConnections, at: q.at, x0: r.left + b[0], x1: r.left + b[1], y0: r.top + AXIS_H, y1: r.top + AXIS_H + STALL_H, visible: b[1] >= LABEL_W && b[0] <= LABEL_W + plotW }; });
};
// the bars of a lane in [a, b] (ns), as drawn: for the browser tests
api.bars = function (id, a, b) {
  var l = null; for (var k = 0; k < lanes.length; k++) if (lanes[k].id === id) l = lanes[k];
  if (!l) return null;
  var r = cv.getBoundingClientRect(), rg = visibleRange(l, a, b), out = [];
  for (var i = rg[0]; i < rg[1]; i++) if (l.end[i] >= a && l.start[i] <= b) out.push({ startNs: l.start[i], endNs: l.end[i], code: l.code[i], x0: r.left + X(l.start[i]), x1: r.left + X(l.end[i]), y: r.top + l.y0 + LANE_H / 2 });
  return out;
};
api.lanes = function () { return lanes.map(function (l) { return { id: l.id, kind: l.kind, label: l.label, n: l.n, y0: l.y0, mode: laneMode[l.id] || null, densitySource: l.densitySource || null }; }); };
api.selected = function () {
  if (selected < 0) return null;
  var rows = Array.prototype.map.call(document.querySelectorAll('#lines > span.ln, #lines .ln'), function (e) { return e.textContent; });
  var hit = document.querySelector('#lines .hit');
  return { index: selected, title: document.querySelector('#details h2').textContent, lineRefs: rows, hit: hit ? hit.textContent : null, text: document.getElementById('details').textContent };
};

// ---------------------------------------------------------------- input
var drag = null;
cv.addEventListener('wheel', function (e) {
  e.preventDefault();
  var r = cv.getBoundingClientRect();
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) pan((e.deltaX || e.deltaY) * 0.5);
  else zoomAt(Math.exp(e.deltaY * 0.0015), e.clientX - r.left);
}, { passive: false });
cv.addEventListener('mousedown', function (e) { drag = { x: e.clientX, y: e.clientY, a: v0, b: v1, moved: false }; cv.classList.add('dragging'); cv.focus(); });
window.addEventListener('mousemove', function (e) {
  if (drag) {
    var dx = e.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (drag.moved) { var d = -dx / plotW * (drag.b - drag.a); setView(drag.a + d, drag.b + d); }
    return;
  }
  tooltip(e);
});
window.addEventListener('mouseup', function (e) {
  if (!drag) return;
  var d = drag; drag = null; cv.classList.remove('dragging');
  if (!d.moved) clickAt(e.clientX, e.clientY);
});
function clickAt(cx, cy) {
  var r = cv.getBoundingClientRect(), x = cx - r.left, y = cy - r.top;
  if (x < LABEL_W || y < AXIS_H) return;
  var list = allStalls(), best = -1, bestD = Infinity;
  for (var i = 0; i < list.length; i++) { var b = stallBox(list[i]); if (x >= b[0] - 2 && x <= b[1] + 2 && list[i].durationNs < bestD) { best = i; bestD = list[i].durationNs; } }
  if (best >= 0) selectStall(best);
}
var tip = document.getElementById('tooltip');
function tooltip(e) {
  var r = cv.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
  if (!D || x < LABEL_W || x > LABEL_W + plotW || y < AXIS_H || y > H) { tip.style.display = 'none'; return; }
  var t = T(x), text = clock(t), tol = 3 / plotW * (v1 - v0);
  for (var li = 0; li < lanes.length; li++) {
    var l = lanes[li];
    if (y < l.y0 || y > l.y0 + LANE_H) continue;
    if (laneMode[l.id] === 'density' && l.density) {
      var px = Math.floor(x - LABEL_W);
      text += '\n' + l.label + ': ' + (l.density.cnt[px] || 0) + ' bars in this pixel' + (l.density.cnt[px] ? ', longest ' + dur(l.density.maxd[px]) : '');
    } else {
      var rg = visibleRange(l, t - tol, t + tol);
      for (var i = rg[0]; i < rg[1]; i++) {
        if (l.end[i] < t - tol || l.start[i] > t + tol) continue;
        text += '\n' + (l.kind === 'wait'
          ? 'epoll wait ' + dur(l.end[i] - l.start[i]) + ((l.code[i] & 0x10) ? ' (start not logged)' : '') + ', woken by ' + REASONS[l.code[i] & 7] + (l.timeout[i] >= 0 ? ', timeout ' + dur(l.timeout[i]) : l.timeout[i] === -2 ? ', timeout None' : '')
          : l.kind === 'conn' ? CONN_NAMES[l.code[i]] + ' Connection::poll ' + dur(l.end[i] - l.start[i]) + ' (' + l.label + ')'
          : 'poll ' + dur(l.end[i] - l.start[i]) + ', ' + POLL_NAMES[l.code[i]]) + '\n  ' + clock(l.start[i]) + ' \u2192 ' + clock(l.end[i]);
        break;
      }
    }
  }
  var list = allStalls();
  for (var s = 0; s < list.length; s++) { var b = stallBox(list[s]); if (x >= b[0] && x <= b[1]) text += '\nstall ' + list[s].kind + ' ' + dur(list[s].durationNs) + ' (click for its lines)'; }
  for (var qi = 0; qi < D.quiet.length; qi++) { var qb = quietBox(D.quiet[qi]); if (x >= qb[0] && x <= qb[1]) text += '\nquiet ' + dur(D.quiet[qi].durationNs) + ', ' + D.quiet[qi].openConnections + ' connections open: not a stall (idle and blocked look the same without reactor lines)'; }
  tip.textContent = text; tip.style.display = 'block'; tip.style.left = (e.clientX + 12) + 'px'; tip.style.top = (e.clientY + 12) + 'px';
}
cv.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
cv.addEventListener('keydown', onKey);
document.addEventListener('keydown', function (e) { if (document.activeElement === document.body) onKey(e); });
function onKey(e) {
  var k = e.key, w = v1 - v0;
  if (k === '+' || k === '=') zoomAt(0.5, LABEL_W + plotW / 2);
  else if (k === '-' || k === '_') zoomAt(2, LABEL_W + plotW / 2);
  else if (k === 'ArrowLeft') setView(v0 - w * 0.2, v1 - w * 0.2);
  else if (k === 'ArrowRight') setView(v0 + w * 0.2, v1 + w * 0.2);
  else if (k === '0' || k === 'Home') showAll();
  else if (k === 'n' || k === 'p') { var n = allStalls().length; if (n) selectStall(((selected < 0 ? (k === 'n' ? -1 : 0) : selected) + (k === 'n' ? 1 : n - 1)) % n); }
  else return;
  e.preventDefault();
}
var quietList = document.getElementById('quiet');
if (quietList) quietList.addEventListener('click', function (e) {
  var li = e.target.closest ? e.target.closest('li') : null;
  var q = li ? D.quiet[Number(li.getAttribute('data-q'))] : null;
  if (q) { var d = Math.max(q.endNs - q.startNs, minSpan() * 10); setView(q.startNs - d * 0.6, q.endNs + d * 0.6); }
});
document.getElementById('stalls').addEventListener('click', function (e) {
  var li = e.target.closest ? e.target.closest('li') : null;
  if (li) selectStall(Number(li.getAttribute('data-i')));
});
document.getElementById('zin').onclick = function () { zoomAt(0.5, LABEL_W + plotW / 2); };
document.getElementById('zout').onclick = function () { zoomAt(2, LABEL_W + plotW / 2); };
function showAll() { var f = fullRange(); setView(f[0], f[1]); followAll = true; }
document.getElementById('zall').onclick = showAll;
// the overview is the range brush: drag across it to choose a range, drag the box to move it
var brush = null;
ov.addEventListener('mousedown', function (e) {
  var r = ov.getBoundingClientRect(), f = fullRange(), x = e.clientX - r.left, t = f[0] + x / OW * (f[1] - f[0]);
  brush = (t >= v0 && t <= v1) ? { move: true, t: t, a: v0, b: v1 } : { move: false, t: t };
  e.preventDefault();
});
window.addEventListener('mousemove', function (e) {
  if (!brush) return;
  var r = ov.getBoundingClientRect(), f = fullRange(), t = f[0] + (e.clientX - r.left) / OW * (f[1] - f[0]);
  if (brush.move) setView(brush.a + t - brush.t, brush.b + t - brush.t);
  else if (Math.abs(t - brush.t) > 0) setView(Math.min(t, brush.t), Math.max(t, brush.t));
});
window.addEventListener('mouseup', function () { brush = null; });
window.addEventListener('resize', function () { resize(); draw(); });
window.addEventListener('hashchange', function () { viewFromHash(); });

// ---------------------------------------------------------------- start
function show(data, first) {
  var span = v1 - v0;
  load(data);
  document.getElementById('title').textContent = D.title;
  renderSummary(); renderStallList(); renderQuietList();
  resize();
  if (first) { if (!viewFromHash()) { var f = fullRange(); setView(f[0], f[1], true); } }
  else if (followAll) { var fr = fullRange(); setView(fr[0], fr[1], true); }
  else if (follow) { setView(D.endNs - span * 0.99, D.endNs + span * 0.01, true); }
  if (selected >= allStalls().length) selected = -1;
  draw();
}
function poll() {
  fetch(cfg.live.dataUrl, { cache: 'no-store' }).then(function (r) {
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.json();
  }).then(function (data) {
    var first = !D; show(data, first);
    document.getElementById('livestate').textContent = 'live \u00b7 updated ' + new Date().toLocaleTimeString();
    if (first) markReady();
  }).catch(function (err) {
    document.getElementById('livestate').textContent = 'live \u00b7 ' + err.message + ', retrying';
  }).then(function () { setTimeout(poll, cfg.live.refreshMs); });
}
function markReady() { api.ready = true; api.timeToInteractiveMs = performance.now() - T0; api.sinceNavigationMs = performance.now(); }
renderLegend();
if (cfg.live) { poll(); }
else {
  show(JSON.parse(document.getElementById('timeline-data').textContent), true);
  requestAnimationFrame(function () { markReady(); });
}
})();
`;
