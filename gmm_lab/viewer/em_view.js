// gmm_lab's EM viewer: one plain ES module, no build step.
//
// The model holds the run (gmm_lab.viewer.history_payload: the tokens once,
// theta_t and L(theta_t) per state, float64). `render` builds the DOM and the
// canvases once; `draw(view, index)` paints frame `index` from the data alone,
// so scrubbing never waits for a kernel. The browser recomputes the
// responsibilities gamma_t from the float64 parameters, with the library's
// formulas (Cholesky of 2 x 2, log space, log-sum-exp), so the numbers in the
// E- and M-step panels equal gmm_lab's.

const LOG_2PI = Math.log(2 * Math.PI);
const MARGIN = 0.06; // of the data range around the points, as gmm_lab.plotting
const SCATTER = { width: 600, height: 470, left: 66, right: 14, top: 30, bottom: 46 };
const THUMB = { width: 250, height: 200, left: 8, right: 8, top: 8, bottom: 8 };
const CURVE = { width: 330, height: 200, left: 74, right: 12, top: 24, bottom: 36 };
const FPS_CHOICES = [1, 2, 4, 8, 15, 30];
const DASHES = [[], [7, 4], [8, 3, 2, 3], [2, 3]]; // solid, dashed, dash-dot, dotted: gmm_lab.plotting's line styles
const MAX_PLACED = 10; // as gmm_lab.viewer.widget.MAX_PLACED_MEANS

// ---------------------------------------------------------------------------
// the data

/** Decode {dtype, shape, data: base64 of little-endian bytes} to a typed array. */
export function decodeArray(packed) {
  if (packed == null) return null;
  const binary = atob(packed.data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const types = { float64: Float64Array, float32: Float32Array, uint8: Uint8Array, uint16: Uint16Array };
  const Type = types[packed.dtype];
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (little || Type.BYTES_PER_ELEMENT === 1) return new Type(bytes.buffer);
  const view = new DataView(bytes.buffer); // a big-endian machine: read element by element
  const out = new Type(bytes.length / Type.BYTES_PER_ELEMENT);
  for (let i = 0; i < out.length; i++) {
    out[i] = packed.dtype === "float64" ? view.getFloat64(8 * i, true)
      : packed.dtype === "float32" ? view.getFloat32(4 * i, true) : view.getUint16(2 * i, true);
  }
  return out;
}

/** The payload unpacked: typed arrays and lookup tables. */
export function unpack(payload) {
  const run = {
    payload,
    N: payload.n_samples, K: payload.n_components, S: payload.n_states,
    X: decodeArray(payload.X), // (N, 2) row-major, Hz
    vowelId: decodeArray(payload.vowel_id),
    group: decodeArray(payload.speaker_group),
    weights: decodeArray(payload.weights), // (S, K)
    means: decodeArray(payload.means), // (S, K, 2)
    covs: decodeArray(payload.covariances), // (S, K, 2, 2)
    L: decodeArray(payload.log_likelihoods), // (S,)
    vowels: new Map(payload.vowels.map((v) => [v.id, v])),
    gammaCache: new Map(),
    colorCache: new Map(),
  };
  run.componentRGB = payload.component_colors.map(hexToRGB);
  return run;
}

function hexToRGB(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

// ---------------------------------------------------------------------------
// the math the browser repeats (checked against gmm_lab in the browser test)

/** Sigma = [[a, b], [b, c]] = L L^T, L = [[l11, 0], [l21, l22]] (gmm_lab._kernels.factors_2d). */
export function cholesky2(a, b, c) {
  const l11 = Math.sqrt(a);
  const l21 = b / l11;
  return [l11, l21, Math.sqrt(c - l21 * l21)];
}

/** log N(x | mu_k, Sigma_k) at state t: -log 2 pi - log l11 - log l22 - (z1^2 + z2^2) / 2, L z = x - mu. */
export function logGaussian(run, t, k, x0, x1) {
  const m = 2 * (t * run.K + k);
  const c = 4 * (t * run.K + k);
  const [l11, l21, l22] = cholesky2(run.covs[c], run.covs[c + 2], run.covs[c + 3]);
  const z1 = (x0 - run.means[m]) / l11;
  const z2 = (x1 - run.means[m + 1] - l21 * z1) / l22;
  return -LOG_2PI - Math.log(l11) - Math.log(l22) - 0.5 * (z1 * z1 + z2 * z2);
}

/** The E-step for token n at theta_t, every number written out. */
export function eStepToken(run, t, n) {
  const x0 = run.X[2 * n], x1 = run.X[2 * n + 1];
  const logWeights = [], logDensities = [], weighted = [];
  for (let k = 0; k < run.K; k++) {
    logWeights.push(Math.log(run.weights[t * run.K + k])); // log pi_k
    logDensities.push(logGaussian(run, t, k, x0, x1)); // log N(x_n | mu_k, Sigma_k)
    weighted.push(logWeights[k] + logDensities[k]); // log pi_k + log N
  }
  let max = Math.max(...weighted);
  if (!Number.isFinite(max)) max = 0;
  let sum = 0;
  for (let k = 0; k < run.K; k++) sum += Math.exp(weighted[k] - max);
  const logNorm = max + Math.log(sum); // log p(x_n) = m + log sum_k exp(a_k - m)
  const gamma = weighted.map((a) => Math.exp(a - logNorm)); // gamma_nk
  return { n, t, x: [x0, x1], logWeights, logDensities, weighted, max, logNorm, gamma };
}

/**
 * gamma for all N tokens under one parameter set, (N, K) row-major:
 * log(pi_k N(x_n | mu_k, Sigma_k)) per component, then minus their log-sum-exp.
 * weights (K,), means (K, 2), covs (K, 2, 2), row-major typed arrays.
 */
export function responsibilitiesFor(X, N, K, weights, means, covs) {
  const gamma = new Float64Array(N * K);
  const row = new Float64Array(K);
  const constant = [], factors = [];
  for (let k = 0; k < K; k++) {
    const f = cholesky2(covs[4 * k], covs[4 * k + 2], covs[4 * k + 3]);
    factors.push(f);
    constant.push(Math.log(weights[k]) - LOG_2PI - Math.log(f[0]) - Math.log(f[2]));
  }
  for (let n = 0; n < N; n++) {
    const x0 = X[2 * n], x1 = X[2 * n + 1];
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      const [l11, l21, l22] = factors[k];
      const z1 = (x0 - means[2 * k]) / l11;
      const z2 = (x1 - means[2 * k + 1] - l21 * z1) / l22;
      row[k] = constant[k] - 0.5 * (z1 * z1 + z2 * z2);
      if (row[k] > max) max = row[k];
    }
    if (!Number.isFinite(max)) max = 0;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(row[k] - max);
    const logNorm = max + Math.log(sum);
    for (let k = 0; k < K; k++) gamma[n * K + k] = Math.exp(row[k] - logNorm);
  }
  return gamma;
}

/** gamma_t for all tokens, (N, K) row-major, computed once per t. */
export function responsibilitiesAt(run, t) {
  let gamma = run.gammaCache.get(t);
  if (gamma) return gamma;
  const K = run.K;
  gamma = responsibilitiesFor(run.X, run.N, K, run.weights.subarray(t * K, (t + 1) * K),
    run.means.subarray(2 * t * K, 2 * (t + 1) * K), run.covs.subarray(4 * t * K, 4 * (t + 1) * K));
  run.gammaCache.set(t, gamma);
  return gamma;
}

/** N_k = sum_n gamma_nk under gamma_t. */
export function componentCounts(run, t) {
  const gamma = responsibilitiesAt(run, t);
  const counts = new Array(run.K).fill(0);
  for (let n = 0; n < run.N; n++) for (let k = 0; k < run.K; k++) counts[k] += gamma[n * run.K + k];
  return counts;
}

/** The M-step for component k from gamma_t (full covariance, two passes as gmm_lab.reference.m_step). */
export function mStepComponent(run, t, k) {
  const gamma = responsibilitiesAt(run, t);
  const { N, K, X } = run;
  let Nk = 0, s0 = 0, s1 = 0;
  for (let n = 0; n < N; n++) {
    const g = gamma[n * K + k];
    Nk += g; // N_k = sum_n gamma_nk
    s0 += g * X[2 * n];
    s1 += g * X[2 * n + 1];
  }
  const mu = [s0 / Nk, s1 / Nk]; // mu_k = (1/N_k) sum_n gamma_nk x_n
  let c00 = 0, c01 = 0, c11 = 0;
  for (let n = 0; n < N; n++) {
    const g = gamma[n * K + k];
    const d0 = X[2 * n] - mu[0], d1 = X[2 * n + 1] - mu[1];
    c00 += g * d0 * d0; c01 += g * d0 * d1; c11 += g * d1 * d1;
  }
  const reg = run.payload.reg_covar;
  // Sigma_k = (1/N_k) sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T + reg_covar I
  const sigma = [[c00 / Nk + reg, c01 / Nk], [c01 / Nk, c11 / Nk + reg]];
  return { t, k, Nk, pi: Nk / N, mu, sigma };
}

/** Semi-axes and angle of the n-sigma ellipse of [[a, b], [b, c]]: n sqrt(eigenvalue). */
export function ellipseAxes(a, b, c, nStd) {
  const mid = 0.5 * (a + c);
  const radius = Math.hypot(0.5 * (a - c), b);
  const major = mid + radius;
  const minor = Math.max(mid - radius, 0); // eigenvalues of a symmetric 2 x 2
  const angle = 0.5 * Math.atan2(2 * b, a - c); // of the major axis, from the first feature's axis
  return { major: nStd * Math.sqrt(major), minor: nStd * Math.sqrt(minor), angle };
}

/** P(inside the n-sigma ellipse) of a 2-D Gaussian: 1 - exp(-n^2 / 2). */
export function massWithin(nStd) {
  return 1 - Math.exp(-0.5 * nStd * nStd);
}

// ---------------------------------------------------------------------------
// frames

/**
 * The frames the slider walks. Half-steps: theta_0, then for each t the E-step
 * (points recoloured by gamma_t, ellipses at theta_t) and the M-step
 * (ellipses at theta_{t+1}, points still coloured by gamma_t); last, the
 * E-step at the final state. Whole iterations: theta_t coloured by gamma_t.
 */
export function frameList(S, halfSteps) {
  const frames = [];
  if (!halfSteps) {
    for (let t = 0; t < S; t++) frames.push({ kind: "iteration", t, ellipses: t, colors: t });
    return frames;
  }
  frames.push({ kind: "initial", t: 0, ellipses: 0, colors: null });
  for (let t = 0; t < S; t++) {
    frames.push({ kind: "E", t, ellipses: t, colors: t });
    if (t + 1 < S) frames.push({ kind: "M", t, ellipses: t + 1, colors: t });
  }
  return frames;
}

function frameCaption(run, frame) {
  if (frame.kind === "initial") return `θ₀: the initial guess (${run.payload.init_note || "points not yet assigned"})`;
  if (frame.kind === "E") return `E-step ${frame.t}: points recoloured by γ${sub(frame.t)}, ellipses still at θ${sub(frame.t)}`;
  if (frame.kind === "M") return `M-step ${frame.t}: ellipses moved to θ${sub(frame.t + 1)}, points still coloured by γ${sub(frame.t)}`;
  return `iteration ${frame.t}: θ${sub(frame.t)}, points coloured by γ${sub(frame.t)}`;
}

function sub(t) {
  const digits = "₀₁₂₃₄₅₆₇₈₉";
  return String(t).split("").map((d) => digits[+d]).join("");
}

// ---------------------------------------------------------------------------
// geometry of the axes

function niceTicks(low, high, count) {
  const span = high - low;
  const raw = span / Math.max(count, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let v = Math.ceil(low / step) * step; v <= high + 1e-9 * span; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

function dataLimits(run) {
  const lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
  for (let n = 0; n < run.N; n++) {
    for (let d = 0; d < 2; d++) {
      const v = run.X[2 * n + d];
      if (v < lo[d]) lo[d] = v;
      if (v > hi[d]) hi[d] = v;
    }
  }
  return [0, 1].map((d) => {
    const pad = MARGIN * (hi[d] - lo[d] || 1);
    return [lo[d] - pad, hi[d] + pad];
  });
}

/** The affine map data -> canvas pixels of a box (vowel chart: axes swapped and flipped). */
function makeTransform(limits, chart, box = SCATTER) {
  const xDim = chart ? 1 : 0, yDim = chart ? 0 : 1;
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const [x0, x1] = limits[xDim], [y0, y1] = limits[yDim];
  let sx, ox, sy, oy;
  if (chart) {
    // phoneticians' chart: F2 decreasing to the right, F1 increasing downwards
    sx = -plotW / (x1 - x0); ox = box.left - sx * x1;
    sy = plotH / (y1 - y0); oy = box.top - sy * y0;
  } else {
    sx = plotW / (x1 - x0); ox = box.left - sx * x0;
    sy = -plotH / (y1 - y0); oy = box.top + plotH - sy * y0;
  }
  // (d0, d1) -> (px, py) as canvas' transform(a, b, c, d, e, f): px = a d0 + c d1 + e, py = b d0 + d d1 + f
  const matrix = xDim === 0 ? [sx, 0, 0, sy, ox, oy] : [0, sy, sx, 0, ox, oy];
  const toPixel = (d0, d1) => (xDim === 0 ? [ox + sx * d0, oy + sy * d1] : [ox + sx * d1, oy + sy * d0]);
  const toData = (px, py) => {
    const u = (px - ox) / sx, v = (py - oy) / sy;
    return xDim === 0 ? [u, v] : [v, u];
  };
  return { xDim, yDim, matrix, toPixel, toData };
}

// ---------------------------------------------------------------------------
// drawing

function pointColors(view, t) {
  const run = view.run;
  const key = `${view.options.color_by}:${t}`;
  let colors = run.colorCache.get(key);
  if (colors) return colors;
  colors = new Array(run.N);
  if (t === null) {
    colors.fill(run.payload.unassigned_color);
  } else {
    const gamma = responsibilitiesAt(run, t);
    const K = run.K;
    for (let n = 0; n < run.N; n++) {
      let r = 0, g = 0, b = 0; // sum_k gamma_nk colour_k, as gmm_lab.plotting.responsibility_colors
      for (let k = 0; k < K; k++) {
        const w = gamma[n * K + k], c = run.componentRGB[k];
        r += w * c[0]; g += w * c[1]; b += w * c[2];
      }
      colors[n] = `rgb(${Math.round(Math.min(r, 255))},${Math.round(Math.min(g, 255))},${Math.round(Math.min(b, 255))})`;
    }
  }
  run.colorCache.set(key, colors);
  return colors;
}

function markerPath(ctx, marker, x, y, r) {
  const polygon = (n, rotation, radius = r) => {
    for (let i = 0; i < n; i++) {
      const a = rotation + (2 * Math.PI * i) / n;
      const px = x + radius * Math.cos(a), py = y - radius * Math.sin(a);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    }
    ctx.closePath();
  };
  switch (marker) {
    case "s": ctx.rect(x - 0.85 * r, y - 0.85 * r, 1.7 * r, 1.7 * r); break;
    case "^": polygon(3, Math.PI / 2, 1.2 * r); break;
    case "v": polygon(3, -Math.PI / 2, 1.2 * r); break;
    case "<": polygon(3, Math.PI, 1.2 * r); break;
    case ">": polygon(3, 0, 1.2 * r); break;
    case "D": polygon(4, 0, 1.15 * r); break;
    case "p": polygon(5, Math.PI / 2, 1.1 * r); break;
    case "h": polygon(6, Math.PI / 2, 1.05 * r); break;
    case "*": {
      for (let i = 0; i < 10; i++) {
        const a = Math.PI / 2 + (Math.PI * i) / 5, radius = i % 2 ? 0.5 * r : 1.3 * r;
        const px = x + radius * Math.cos(a), py = y - radius * Math.sin(a);
        if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
      }
      ctx.closePath();
      break;
    }
    default: ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
}

function drawAxes(view) {
  const ctx = view.background.getContext("2d");
  const { width, height, left, right, top, bottom } = SCATTER;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  const T = view.transform;
  const labels = view.run.payload.axis_labels;
  ctx.strokeStyle = "#333";
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, width - left - right - 1, height - top - bottom - 1);
  ctx.fillStyle = "#222";
  ctx.font = "11px sans-serif";
  const [xl0, xl1] = view.limits[T.xDim], [yl0, yl1] = view.limits[T.yDim];
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const v of niceTicks(xl0, xl1, 6)) {
    const [px] = T.xDim === 0 ? T.toPixel(v, yl0) : T.toPixel(yl0, v);
    ctx.fillRect(Math.round(px), height - bottom, 1, 4);
    ctx.fillText(String(v), px, height - bottom + 6);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of niceTicks(yl0, yl1, 6)) {
    const py = T.xDim === 0 ? T.toPixel(xl0, v)[1] : T.toPixel(v, xl0)[1];
    ctx.fillRect(left - 4, Math.round(py), 4, 1);
    ctx.fillText(String(v), left - 6, py);
  }
  ctx.font = "12px sans-serif";
  ctx.textAlign = "center"; ctx.textBaseline = "bottom";
  const chart = view.options.vowel_chart;
  ctx.fillText(labels[T.xDim] + (chart ? "  ← increasing" : ""), left + (width - left - right) / 2, height - 4);
  ctx.save();
  ctx.translate(14, top + (height - top - bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "top";
  ctx.fillText(labels[T.yDim] + (chart ? "  ← increasing" : ""), 0, 0);
  ctx.restore();
}

function drawScatter(view, frame) {
  const { run, ctx } = view;
  const T = view.transform;
  ctx.drawImage(view.background, 0, 0, SCATTER.width, SCATTER.height); // CSS size, whatever the pixel ratio
  const byVowel = view.options.color_by === "vowel" && run.vowelId;
  ctx.save();
  ctx.beginPath();
  ctx.rect(SCATTER.left + 1, SCATTER.top + 1, SCATTER.width - SCATTER.left - SCATTER.right - 2,
    SCATTER.height - SCATTER.top - SCATTER.bottom - 2);
  ctx.clip();
  // the points
  const pixels = view.pixels;
  ctx.globalAlpha = 0.6;
  if (byVowel) {
    for (const [id, indices] of view.byVowel) {
      ctx.fillStyle = run.payload.vowel_colors[id];
      ctx.beginPath();
      const marker = run.payload.vowel_markers[id];
      for (const n of indices) markerPath(ctx, marker, pixels[2 * n], pixels[2 * n + 1], 3);
      ctx.fill();
    }
  } else {
    const colors = pointColors(view, frame.colors);
    for (let n = 0; n < run.N; n++) {
      ctx.fillStyle = colors[n];
      ctx.beginPath();
      ctx.arc(pixels[2 * n], pixels[2 * n + 1], 2.8, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.globalAlpha = 1;
  // the ellipses and means at theta_{frame.ellipses}
  const t = frame.ellipses, K = run.K, nStd = view.options.n_std;
  for (let k = 0; k < K; k++) {
    const m = 2 * (t * K + k), c = 4 * (t * K + k);
    const { major, minor, angle } = ellipseAxes(run.covs[c], run.covs[c + 1], run.covs[c + 3], nStd);
    ctx.save();
    ctx.transform(...T.matrix); // the path in data coordinates, exact under the axes' scaling
    ctx.beginPath();
    ctx.ellipse(run.means[m], run.means[m + 1], major, minor, angle, 0, 2 * Math.PI);
    ctx.restore();
    ctx.strokeStyle = byVowel ? run.payload.over_vowels_color : run.payload.component_colors[k];
    ctx.lineWidth = byVowel ? 1.5 : 2;
    ctx.setLineDash(byVowel && K <= DASHES.length ? DASHES[k] : []);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  for (let k = 0; k < K; k++) {
    const m = 2 * (t * K + k);
    const [px, py] = T.toPixel(run.means[m], run.means[m + 1]);
    ctx.lineWidth = 4; ctx.strokeStyle = "#ffffff";
    crossPath(ctx, px, py, 6); ctx.stroke();
    ctx.lineWidth = 2.2; ctx.strokeStyle = byVowel ? run.payload.over_vowels_color : run.payload.component_colors[k];
    crossPath(ctx, px, py, 6); ctx.stroke();
    if (byVowel || view.selected?.component === k) {
      ctx.font = "bold 11px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
      ctx.lineWidth = 3; ctx.strokeStyle = "#fff";
      ctx.strokeText(String(k), px + 6, py - 4);
      ctx.fillStyle = "#111"; ctx.fillText(String(k), px + 6, py - 4);
    }
  }
  // means placed by the student (black, numbered in the order placed)
  if (view.placed) {
    view.placed.forEach(([d0, d1], i) => {
      const [px, py] = T.toPixel(d0, d1);
      ctx.beginPath(); ctx.arc(px, py, 7, 0, 2 * Math.PI);
      ctx.fillStyle = "#fff"; ctx.fill(); ctx.lineWidth = 2; ctx.strokeStyle = "#000"; ctx.stroke();
      ctx.fillStyle = "#000"; ctx.font = "bold 10px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
      ctx.fillText(String(i), px, py + 0.5);
    });
  }
  // the selected token
  if (view.selected?.token != null) {
    const n = view.selected.token;
    ctx.beginPath(); ctx.arc(pixels[2 * n], pixels[2 * n + 1], 6, 0, 2 * Math.PI);
    ctx.lineWidth = 2; ctx.strokeStyle = "#000"; ctx.stroke();
  }
  ctx.restore();
  ctx.fillStyle = "#111"; ctx.font = "13px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "top";
  ctx.fillText(`${frameTitle(frame)}   L = ${formatL(run.L[frame.ellipses])}`, SCATTER.left, 8);
}

function frameTitle(frame) {
  if (frame.kind === "initial") return "initial guess θ₀";
  if (frame.kind === "E") return `E-step ${frame.t} (θ${sub(frame.t)}, γ${sub(frame.t)})`;
  if (frame.kind === "M") return `M-step ${frame.t} → θ${sub(frame.t + 1)}`;
  return `iteration ${frame.t}`;
}

function crossPath(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
  ctx.moveTo(x - r, y + r); ctx.lineTo(x + r, y - r);
}

function formatL(value) {
  return Number.isFinite(value) ? value.toFixed(2) : String(value);
}

function curveLimits(L) {
  let low = Math.min(...L), high = Math.max(...L);
  let offScale = false;
  if (L.length > 2) {
    const rest = Array.from(L).slice(1);
    const restLow = Math.min(...rest), restHigh = Math.max(...rest);
    const spread = Math.max(restHigh - restLow, 1e-9 * Math.abs(restHigh), 1);
    if (L[0] < restLow - 5 * spread) { low = restLow; high = restHigh; offScale = true; }
  }
  const pad = high > low ? 0.08 * (high - low) : Math.max(1, 1e-3 * Math.abs(high));
  return { low: low - pad, high: high + pad, offScale };
}

function drawCurveBackground(view) {
  const ctx = view.curveBackground.getContext("2d");
  const { width, height, left, right, top, bottom } = CURVE;
  const L = view.run.L, S = view.run.S;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);
  const { low, high, offScale } = curveLimits(L);
  const px = (t) => left + (width - left - right) * (S > 1 ? t / (S - 1) : 0.5);
  const py = (v) => top + (height - top - bottom) * (1 - (v - low) / (high - low));
  view.curveMap = { px, py };
  ctx.strokeStyle = "#333"; ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, width - left - right - 1, height - top - bottom - 1);
  ctx.fillStyle = "#222"; ctx.font = "11px sans-serif";
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of niceTicks(0, Math.max(S - 1, 1), 5)) {
    if (t !== Math.round(t) || t > S - 1) continue; // a live run may have one state so far
    ctx.fillRect(Math.round(px(t)), height - bottom, 1, 4);
    ctx.fillText(String(t), px(t), height - bottom + 6);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of niceTicks(low, high, 4)) {
    ctx.fillRect(left - 4, Math.round(py(v)), 4, 1);
    ctx.fillText(v.toLocaleString("en-US", { maximumFractionDigits: 1 }), left - 6, py(v));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "bottom"; ctx.font = "12px sans-serif";
  ctx.fillText("iteration t", left + (width - left - right) / 2, height - 2);
  ctx.textAlign = "left"; ctx.textBaseline = "top";
  ctx.fillText("log-likelihood L(θₜ)", left, 4);
  ctx.save();
  ctx.beginPath(); ctx.rect(left, top, width - left - right, height - top - bottom); ctx.clip();
  ctx.strokeStyle = "#555"; ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (let t = 0; t < S; t++) (t ? ctx.lineTo : ctx.moveTo).call(ctx, px(t), py(L[t]));
  ctx.stroke();
  ctx.restore();
  // A note beside the curve, not on it, where it could hide the current iteration's dot.
  view.curveNote.textContent = offScale ? `t = 0: L(θ₀) = ${L[0].toPrecision(4)}, far below this axis` : "";
}

function drawCurve(view, frame) {
  const ctx = view.curveCtx;
  ctx.drawImage(view.curveBackground, 0, 0, CURVE.width, CURVE.height);
  const { px, py } = view.curveMap;
  const t = frame.ellipses;
  const { low, high } = curveLimits(view.run.L);
  const v = Math.min(Math.max(view.run.L[t], low), high);
  ctx.beginPath(); ctx.arc(px(t), py(v), 5, 0, 2 * Math.PI);
  ctx.fillStyle = "#c0392b"; ctx.fill();
}

function readoutHTML(view, frame) {
  const run = view.run, t = frame.ellipses, K = run.K;
  const L = run.L[t], change = t > 0 ? L - run.L[t - 1] : null;
  const counts = frame.colors === null ? null : componentCounts(run, frame.colors);
  const rows = [];
  for (let k = 0; k < K; k++) {
    rows.push(`<tr><td>${swatch(view, k)}${k}</td>` +
      `<td>${run.weights[t * K + k].toFixed(4)}</td><td>${counts ? counts[k].toFixed(1) : "–"}</td></tr>`);
  }
  const countsNote = frame.colors === null ? "" : ` (N<sub>k</sub> = Σ<sub>n</sub> γ<sub>nk</sub> under γ${sub(frame.colors)})`;
  return `<div class="readout-head">t = ${t} &nbsp; L(θ${sub(t)}) = ${formatL(L)}` +
    (change === null ? "" : ` &nbsp; ΔL = ${change >= 0 ? "+" : ""}${change.toPrecision(4)}`) + `</div>` +
    `<table class="readout-table"><tr><th>k</th><th>π<sub>k</sub> at θ${sub(t)}</th><th>N<sub>k</sub></th></tr>${rows.join("")}</table>` +
    `<div class="note">${countsNote}</div>`;
}

/** Paint frame `index` of the view from the data alone. */
export function draw(view, index) {
  const frame = view.frames[index];
  view.index = index;
  drawScatter(view, frame);
  drawCurve(view, frame);
  view.caption.textContent = view.placed ? view.caption.textContent : frameCaption(view.run, frame);
  view.readout.innerHTML = readoutHTML(view, frame);
  view.frameLabel.textContent = `${index + 1} / ${view.frames.length}`;
  view.root.dataset.frame = String(index);
  view.root.dataset.frameKind = frame.kind;
  view.root.dataset.iteration = String(frame.ellipses);
  if (view.selected) showPanel(view);
}

// ---------------------------------------------------------------------------
// several starts side by side

/** Small pictures of where each start ended: its final theta over the tokens, final L. */
function buildStarts(view, parent) {
  const run = view.run, starts = run.payload.starts || [];
  if (starts.length < 2) return;
  const section = element("div", { class: "starts" }, parent);
  const best = Math.max(...starts.map((s) => s.log_likelihood));
  element("div", { class: "starts-head", html: `<b>Starts compared</b> (where each run ended: its final θ on the axes of the chart above, ${view.options.n_std}-σ ellipses; the highest L is marked best)` }, section);
  const row = element("div", { class: "starts-row" }, section);
  starts.forEach((start, i) => {
    const cell = element("div", { class: "start" }, row);
    cell.dataset.finalL = JSON.stringify(start.log_likelihood);
    cell.dataset.nComponents = String(start.n_components);
    const canvas = makeCanvas(cell, THUMB);
    drawStart(view, scaledContext(canvas), start);
    const isBest = start.log_likelihood === best;
    element("div", {
      class: "note",
      html: `${start.title}<br>K = ${start.n_components}, L = <b>${formatL(start.log_likelihood)}</b> after ${start.n_iterations} iterations` +
        `${start.converged ? " (converged)" : " (not converged)"}${isBest ? " — <b>best</b>" : ""}`,
    }, cell);
    // The run the viewer shows: the one named by the payload (gmm-lab's kept
    // start), else the latest (the widget appends each new run).
    if (i === (run.payload.current_start ?? starts.length - 1)) cell.classList.add("current");
  });
}

function drawStart(view, ctx, start) {
  const run = view.run, K = start.n_components;
  const weights = decodeArray(start.weights), means = decodeArray(start.means), covs = decodeArray(start.covariances);
  const T = makeTransform(view.limits, view.options.vowel_chart, THUMB);
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, THUMB.width, THUMB.height);
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(0.5, 0.5, THUMB.width - 1, THUMB.height - 1);
  const byVowel = view.options.color_by === "vowel" && run.vowelId;
  const gamma = byVowel ? null : responsibilitiesFor(run.X, run.N, K, weights, means, covs);
  const rgb = start.colors.map(hexToRGB);
  ctx.globalAlpha = 0.6;
  for (let n = 0; n < run.N; n++) {
    if (byVowel) ctx.fillStyle = run.payload.vowel_colors[run.vowelId[n]];
    else {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < K; k++) { const w = gamma[n * K + k]; r += w * rgb[k][0]; g += w * rgb[k][1]; b += w * rgb[k][2]; }
      ctx.fillStyle = `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
    }
    const [px, py] = T.toPixel(run.X[2 * n], run.X[2 * n + 1]);
    ctx.fillRect(px - 1.2, py - 1.2, 2.4, 2.4);
  }
  ctx.globalAlpha = 1;
  for (let k = 0; k < K; k++) {
    const { major, minor, angle } = ellipseAxes(covs[4 * k], covs[4 * k + 1], covs[4 * k + 3], view.options.n_std);
    ctx.save(); ctx.transform(...T.matrix); ctx.beginPath();
    ctx.ellipse(means[2 * k], means[2 * k + 1], major, minor, angle, 0, 2 * Math.PI);
    ctx.restore();
    ctx.strokeStyle = byVowel ? run.payload.over_vowels_color : start.colors[k];
    // Over vowel colours the components are told apart by line style, matched as the colours are.
    const position = run.payload.component_colors.indexOf(start.colors[k]);
    ctx.setLineDash(byVowel && K <= DASHES.length && position >= 0 && position < DASHES.length ? DASHES[position] : []);
    ctx.lineWidth = 1.5; ctx.stroke();
  }
  ctx.setLineDash([]);
}

// ---------------------------------------------------------------------------
// looking inside a step

/** A component's colour swatch, except when the points wear vowel colours (one colour meaning per figure). */
function swatch(view, k) {
  if (view.options.color_by === "vowel" && view.run.vowelId) return "";
  return `<span class="swatch" style="background:${view.run.payload.component_colors[k]}"></span>`;
}

function fmt(value, digits = 6) {
  if (!Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  return a !== 0 && (a < 1e-3 || a >= 1e7) ? value.toExponential(digits - 1) : value.toPrecision(digits);
}

function tokenDescription(run, n) {
  const parts = [];
  if (run.vowelId) {
    const v = run.vowels.get(run.vowelId[n]);
    parts.push(`${v.label} /${v.ipa}/ "${v.word}"`);
  }
  if (run.group) parts.push(run.payload.speaker_groups[run.group[n]][1]);
  const labels = run.payload.axis_labels;
  parts.push(`${labels[0].replace(" (Hz)", "")} = ${run.X[2 * n]} Hz, ${labels[1].replace(" (Hz)", "")} = ${run.X[2 * n + 1]} Hz`);
  return parts.join(" · ");
}

function gammaFrame(view) {
  const frame = view.frames[view.index];
  return frame.colors === null ? 0 : frame.colors;
}

function eStepPanel(view, n) {
  const run = view.run, t = gammaFrame(view);
  const e = eStepToken(run, t, n);
  const rows = e.gamma.map((g, k) =>
    `<tr><td>${swatch(view, k)}${k}</td>` +
    `<td>${fmt(e.logWeights[k])}</td><td>${fmt(e.logDensities[k])}</td><td>${fmt(e.weighted[k])}</td>` +
    `<td>${fmt(e.weighted[k] - e.logNorm)}</td><td><b>${fmt(g, 5)}</b></td></tr>`).join("");
  const sumTerms = e.weighted.map((a) => Math.exp(a - e.max));
  return {
    data: { panel: "e-step", token: String(n), iteration: String(t),
      logWeights: JSON.stringify(e.logWeights), logDensity: JSON.stringify(e.logDensities),
      logNorm: JSON.stringify(e.logNorm), gamma: JSON.stringify(e.gamma) },
    html: `<h4>E-step ${t} for token ${n}: ${tokenDescription(run, n)}</h4>` +
      `<p class="formula">log N(x | μ<sub>k</sub>, Σ<sub>k</sub>) = −log 2π − log l<sub>11</sub> − log l<sub>22</sub> − ½(z<sub>1</sub>² + z<sub>2</sub>²),` +
      ` Σ<sub>k</sub> = L Lᵀ (Cholesky), L z = x − μ<sub>k</sub>, at θ${sub(t)}</p>` +
      `<table class="numbers"><tr><th>k</th><th>log π<sub>k</sub></th><th>log N(x<sub>n</sub> | μ<sub>k</sub>, Σ<sub>k</sub>)</th>` +
      `<th>a<sub>k</sub> = log π<sub>k</sub> + log N</th><th>log γ<sub>nk</sub> = a<sub>k</sub> − log p(x<sub>n</sub>)</th><th>γ<sub>nk</sub></th></tr>${rows}</table>` +
      `<p class="formula">log p(x<sub>n</sub>) = log Σ<sub>k</sub> exp a<sub>k</sub> = m + log Σ<sub>k</sub> exp(a<sub>k</sub> − m), m = max<sub>k</sub> a<sub>k</sub> = ${fmt(e.max, 8)}:` +
      ` Σ<sub>k</sub> exp(a<sub>k</sub> − m) = ${fmt(sumTerms.reduce((s, v) => s + v, 0), 8)}, so log p(x<sub>n</sub>) = <b>${fmt(e.logNorm, 10)}</b></p>` +
      `<p class="formula">γ<sub>nk</sub> = exp(a<sub>k</sub> − log p(x<sub>n</sub>)); Σ<sub>k</sub> γ<sub>nk</sub> = ${fmt(e.gamma.reduce((s, v) => s + v, 0), 12)}</p>`,
  };
}

function mStepPanel(view, k) {
  const run = view.run, t = gammaFrame(view), K = run.K;
  const m = mStepComponent(run, t, k);
  const next = t + 1 < run.S ? t + 1 : null;
  const full = run.payload.covariance_type === "full";
  let check = "";
  if (next !== null) {
    const i = next * K + k;
    const runMu = [run.means[2 * i], run.means[2 * i + 1]];
    const runSigma = [run.covs[4 * i], run.covs[4 * i + 1], run.covs[4 * i + 3]];
    const diff = Math.max(Math.abs(runMu[0] - m.mu[0]) / Math.abs(runMu[0]), Math.abs(runMu[1] - m.mu[1]) / Math.abs(runMu[1]),
      Math.abs(run.weights[i] - m.pi) / run.weights[i]);
    check = `<p>The run's θ${sub(next)}: π<sub>${k}</sub> = ${fmt(run.weights[i], 8)}, μ<sub>${k}</sub> = (${fmt(runMu[0], 8)}, ${fmt(runMu[1], 8)}),` +
      ` Σ<sub>${k}</sub> = [[${fmt(runSigma[0])}, ${fmt(runSigma[1])}], [${fmt(runSigma[1])}, ${fmt(runSigma[2])}]]` +
      ` (π and μ agree to ${diff.toExponential(1)} relative${full ? "" : `; its Σ has the '${run.payload.covariance_type}' restriction applied`})</p>`;
  } else {
    check = `<p>The run stopped at θ${sub(t)}${run.payload.converged ? " (converged)" : ""}: this M-step was not taken.</p>`;
  }
  const s = m.sigma;
  return {
    data: { panel: "m-step", component: String(k), iteration: String(t), counts: JSON.stringify(m.Nk),
      weight: JSON.stringify(m.pi), mean: JSON.stringify(m.mu), covariance: JSON.stringify(s) },
    html: `<h4>M-step ${t} for component ${k} ${swatch(view, k)} (from γ${sub(t)}, N = ${run.N})</h4>` +
      `<p class="formula">N<sub>k</sub> = Σ<sub>n</sub> γ<sub>nk</sub> = <b>${fmt(m.Nk, 10)}</b></p>` +
      `<p class="formula">π<sub>k</sub> = N<sub>k</sub> / N = ${fmt(m.Nk, 8)} / ${run.N} = <b>${fmt(m.pi, 8)}</b></p>` +
      `<p class="formula">μ<sub>k</sub> = (1/N<sub>k</sub>) Σ<sub>n</sub> γ<sub>nk</sub> x<sub>n</sub> = <b>(${fmt(m.mu[0], 8)}, ${fmt(m.mu[1], 8)})</b> Hz</p>` +
      `<p class="formula">Σ<sub>k</sub> = (1/N<sub>k</sub>) Σ<sub>n</sub> γ<sub>nk</sub> (x<sub>n</sub> − μ<sub>k</sub>)(x<sub>n</sub> − μ<sub>k</sub>)ᵀ + ${run.payload.reg_covar.toExponential()} I (reg_covar) =` +
      ` <b>[[${fmt(s[0][0], 8)}, ${fmt(s[0][1], 8)}], [${fmt(s[1][0], 8)}, ${fmt(s[1][1], 8)}]]</b> Hz²</p>` + check,
  };
}

function showPanel(view) {
  const sel = view.selected;
  const content = sel.token != null ? eStepPanel(view, sel.token) : mStepPanel(view, sel.component);
  const panel = view.panel;
  for (const key of Object.keys(panel.dataset)) delete panel.dataset[key];
  Object.assign(panel.dataset, content.data);
  panel.innerHTML = `<button class="close" title="close">×</button>` + content.html;
  panel.hidden = false;
  panel.querySelector(".close").addEventListener("click", () => {
    view.selected = null; panel.hidden = true; draw(view, view.index);
  });
}

/** Canvas pixel of token n (CSS pixels from the canvas' top left corner). */
export function pixelOfToken(view, n) {
  return [view.pixels[2 * n], view.pixels[2 * n + 1]];
}

/** Canvas pixel of component k's mean in the current frame. */
export function pixelOfMean(view, k) {
  const t = view.frames[view.index].ellipses, m = 2 * (t * view.run.K + k);
  return view.transform.toPixel(view.run.means[m], view.run.means[m + 1]);
}

function nearestToken(view, x, y, radius) {
  let best = -1, bestD = radius * radius;
  const p = view.pixels;
  for (let n = 0; n < view.run.N; n++) {
    const dx = p[2 * n] - x, dy = p[2 * n + 1] - y, d = dx * dx + dy * dy;
    if (d <= bestD) { best = n; bestD = d; }
  }
  return best;
}

function nearestMean(view, x, y, radius) {
  let best = -1, bestD = radius * radius;
  for (let k = 0; k < view.run.K; k++) {
    const [px, py] = pixelOfMean(view, k);
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d <= bestD) { best = k; bestD = d; }
  }
  return best;
}

function tooltipHTML(view, n) {
  const run = view.run, t = gammaFrame(view);
  const gamma = responsibilitiesAt(run, t);
  const order = [...Array(run.K).keys()].sort((a, b) => gamma[n * run.K + b] - gamma[n * run.K + a]);
  const shown = order.slice(0, 4).map((k) =>
    `${swatch(view, k)}γ<sub>${k}</sub> = ${gamma[n * run.K + k].toFixed(3)}`);
  return `<b>token ${n}</b>: ${tokenDescription(run, n)}<br>responsibilities at γ${sub(t)}: ${shown.join(", ")}` +
    (run.K > 4 ? ", others smaller" : "") + `<br><i>click for its E-step</i>`;
}

// ---------------------------------------------------------------------------
// building the view once

const STYLE = `
.gmm-em-view { font: 13px/1.35 system-ui, sans-serif; color: #111; background: #fff; padding: 6px; position: relative; }
.gmm-em-view h3 { margin: 0 0 4px; font-size: 15px; }
.gmm-em-view .controls { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 4px 0; }
.gmm-em-view .controls input[type=range] { width: 340px; }
.gmm-em-view .figure { display: flex; gap: 12px; align-items: flex-start; }
.gmm-em-view canvas { display: block; }
.gmm-em-view .side { width: 340px; }
.gmm-em-view .caption { margin: 2px 0 4px; color: #333; min-height: 1.4em; }
.gmm-em-view table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.gmm-em-view td, .gmm-em-view th { padding: 1px 6px; text-align: right; }
.gmm-em-view .readout-table td:first-child { text-align: left; }
.gmm-em-view .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border: 1px solid #0003; vertical-align: middle; }
.gmm-em-view .key { margin-top: 6px; font-size: 12px; }
.gmm-em-view .key .item { display: inline-block; margin-right: 8px; white-space: nowrap; }
.gmm-em-view .note { color: #555; font-size: 11px; }
.gmm-em-view .panel { border: 1px solid #aaa; background: #fafafa; padding: 6px 10px; margin-top: 6px; position: relative; }
.gmm-em-view .panel h4 { margin: 0 0 4px; font-size: 13px; }
.gmm-em-view .panel .formula { margin: 3px 0; }
.gmm-em-view .panel .close { position: absolute; right: 4px; top: 2px; border: none; background: none; font-size: 16px; cursor: pointer; }
.gmm-em-view .starts { margin-top: 8px; }
.gmm-em-view .starts-row { display: flex; flex-wrap: wrap; gap: 10px; }
.gmm-em-view .start { width: 250px; }
.gmm-em-view .start.current canvas { outline: 2px solid #333; }
.gmm-em-view .tooltip { position: absolute; pointer-events: none; background: #fffffff0; border: 1px solid #888; padding: 3px 6px; font-size: 12px; max-width: 360px; z-index: 10; }
`;

function element(tag, attributes = {}, parent = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value; else if (key === "html") node.innerHTML = value; else node.setAttribute(key, value);
  }
  if (parent) parent.appendChild(node);
  return node;
}

function makeCanvas(parent, { width, height }) {
  const canvas = element("canvas", {}, parent);
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`; canvas.style.height = `${height}px`;
  return canvas;
}

function scaledContext(canvas) {
  const ctx = canvas.getContext("2d");
  const ratio = canvas.width / parseFloat(canvas.style.width || canvas.width);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

function offscreen({ width, height }) {
  const canvas = document.createElement("canvas");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  scaledContext(canvas);
  return canvas;
}

function keyHTML(view) {
  const run = view.run, p = run.payload, nStd = view.options.n_std;
  const mass = (100 * massWithin(nStd)).toFixed(1);
  const items = [];
  if (view.options.color_by === "vowel" && run.vowelId) {
    const present = [...view.byVowel.keys()];
    for (const id of present) {
      const v = run.vowels.get(id);
      items.push(`<span class="item"><span class="swatch" style="background:${p.vowel_colors[id]}"></span>${v.label} /${v.ipa}/ ${v.word}</span>`);
    }
    items.push(`<br><span class="item">dark grey: ${nStd}-σ ellipses (${mass} % of each Gaussian) and means ×, component number beside each mean` +
      (run.K <= 4 ? "; line style tells the components apart" : "") + `</span>`);
  } else {
    for (let k = 0; k < run.K; k++) {
      items.push(`<span class="item"><span class="swatch" style="background:${p.component_colors[k]}"></span>component ${k}</span>`);
    }
    items.push(`<br><span class="item">ellipses: ${nStd}-σ (${mass} % of each Gaussian), × the means; a point's colour blends the component colours by its responsibilities γ<sub>nk</sub> (grey before the first E-step)</span>`);
  }
  return items.join("");
}

function rebuildGeometry(view) {
  view.transform = makeTransform(view.limits, view.options.vowel_chart);
  const run = view.run, pixels = new Float64Array(2 * run.N);
  for (let n = 0; n < run.N; n++) {
    const [px, py] = view.transform.toPixel(run.X[2 * n], run.X[2 * n + 1]);
    pixels[2 * n] = px; pixels[2 * n + 1] = py;
  }
  view.pixels = pixels;
  drawAxes(view);
  view.key.innerHTML = keyHTML(view);
}

function setFrames(view, halfSteps) {
  const old = view.frames ? view.frames[view.index] : null;
  view.frames = frameList(view.run.S, halfSteps);
  view.slider.max = String(view.frames.length - 1);
  let index = 0;
  if (old) {
    // keep the same parameters on screen: the frame whose ellipses are theta_t
    // the same picture if it exists (ellipses and colours), else the same ellipses
    index = view.frames.findIndex((f) => f.ellipses === old.ellipses && f.colors === old.colors);
    if (index < 0) index = view.frames.findIndex((f) => f.ellipses === old.ellipses && f.kind !== "initial");
    if (index < 0) index = 0;
  }
  view.slider.value = String(index);
  return index;
}

/** Build the DOM and the canvases once; return the view (its state) for draw(view, index). */
export function buildView(el, payload, host = {}) {
  const run = unpack(payload);
  const options = { ...payload.options };
  const root = element("div", { class: "gmm-em-view" }, el);
  element("style", { text: STYLE }, root);
  element("h3", { text: payload.title }, root);
  const controls = element("div", { class: "controls" }, root);
  const play = element("button", { class: "play", text: "▶ Play", title: "Play / Pause" }, controls);
  const slider = element("input", { type: "range", min: "0", max: "0", step: "1", value: "0", class: "frame-slider", "aria-label": "frame" }, controls);
  const frameLabel = element("span", { class: "frame-label" }, controls);
  const speedLabel = element("label", { text: "speed " }, controls);
  const speed = element("select", { class: "speed" }, speedLabel);
  const choices = [...new Set([...FPS_CHOICES, options.fps])].filter((f) => f > 0).sort((a, b) => a - b);
  for (const fps of choices) element("option", { value: String(fps), text: `${fps} fps` }, speed);
  speed.value = String(options.fps > 0 ? options.fps : 4);
  const halfLabel = element("label", {}, controls);
  const half = element("input", { type: "checkbox", class: "half-steps" }, halfLabel);
  halfLabel.append(" E- and M-steps as separate frames");
  half.checked = !!options.half_steps;
  const colorLabel = element("label", { text: "points: " }, controls);
  const colorBy = element("select", { class: "color-by" }, colorLabel);
  element("option", { value: "responsibility", text: "by responsibility" }, colorBy);
  if (run.vowelId) element("option", { value: "vowel", text: "by vowel" }, colorBy);
  colorBy.value = run.vowelId ? options.color_by : "responsibility";
  options.color_by = colorBy.value;
  const sigmaLabel = element("label", { text: "ellipses " }, controls);
  const sigma = element("select", { class: "n-std" }, sigmaLabel);
  for (const n of [1, 2, 3]) element("option", { value: String(n), text: `${n}-σ` }, sigma);
  sigma.value = String(options.n_std);
  const chartLabel = element("label", {}, controls);
  const chart = element("input", { type: "checkbox", class: "vowel-chart" }, chartLabel);
  chartLabel.append(" vowel chart");
  chart.checked = !!options.vowel_chart;

  // Start where you like (needs a kernel): place initial means by clicking, then Run.
  let place = null, runPlaced = null, clearPlaced = null;
  if (host.interactive) {
    const placeRow = element("div", { class: "controls place-controls" }, root);
    place = element("button", { class: "place", text: "Place initial means", title: `click on the chart to place 1 to ${MAX_PLACED} means` }, placeRow);
    runPlaced = element("button", { class: "run-placed", text: "Run EM from these means" }, placeRow);
    clearPlaced = element("button", { class: "clear-placed", text: "Clear" }, placeRow);
    runPlaced.disabled = true; clearPlaced.disabled = true;
  }
  const caption = element("div", { class: "caption" }, root);
  const figure = element("div", { class: "figure" }, root);
  const left = element("div", { style: "position: relative" }, figure);
  const canvas = makeCanvas(left, SCATTER);
  canvas.classList.add("scatter");
  const side = element("div", { class: "side" }, figure);
  const curveCanvas = makeCanvas(side, CURVE);
  curveCanvas.classList.add("curve");
  const curveNote = element("div", { class: "note curve-note" }, side);
  const readout = element("div", { class: "readout" }, side);
  const key = element("div", { class: "key" }, root);
  element("div", { class: "note", text: "Hover a point for its responsibilities; click it for its E-step, click a mean (×) for its M-step. Arrow keys, Home and End move the slider." }, root);
  const panel = element("div", { class: "panel" }, root);
  panel.hidden = true;
  const startsHolder = element("div", {}, root);
  const tooltip = element("div", { class: "tooltip" }, root);
  tooltip.hidden = true;

  const view = {
    run, options, root, slider, frameLabel, caption, readout, curveNote, key, panel, tooltip, canvas,
    ctx: scaledContext(canvas), curveCtx: scaledContext(curveCanvas),
    background: offscreen(SCATTER), curveBackground: offscreen(CURVE),
    limits: dataLimits(run), selected: null, index: 0, timer: null, placed: null,
  };
  view.byVowel = new Map();
  if (run.vowelId) {
    for (let n = 0; n < run.N; n++) {
      const id = run.vowelId[n];
      if (!view.byVowel.has(id)) view.byVowel.set(id, []);
      view.byVowel.get(id).push(n);
    }
    view.byVowel = new Map([...view.byVowel.entries()].sort((a, b) => a[0] - b[0]));
  }
  rebuildGeometry(view);
  drawCurveBackground(view);
  view.refreshStarts = () => { startsHolder.replaceChildren(); buildStarts(view, startsHolder); };
  view.refreshStarts();
  view.half = half;
  setFrames(view, half.checked);

  const stop = () => {
    if (view.timer !== null) cancelAnimationFrame(view.timer);
    view.timer = null;
    play.textContent = "▶ Play";
  };
  const start = () => {
    if (view.index >= view.frames.length - 1) draw(view, 0), (slider.value = "0");
    play.textContent = "⏸ Pause";
    let last = performance.now();
    const tick = (now) => {
      const interval = 1000 / Number(speed.value);
      if (now - last >= interval - 1) {
        last = now;
        const next = view.index + 1;
        if (next >= view.frames.length) { stop(); return; }
        slider.value = String(next);
        draw(view, next);
      }
      view.timer = requestAnimationFrame(tick);
    };
    view.timer = requestAnimationFrame(tick);
  };
  view.play = () => (view.timer === null ? start() : stop());
  play.addEventListener("click", view.play);
  // JupyterLab takes arrow keys for its own navigation unless the slider keeps them.
  slider.addEventListener("keydown", (event) => event.stopPropagation());
  slider.addEventListener("input", () => draw(view, Number(slider.value)));
  half.addEventListener("change", () => draw(view, setFrames(view, half.checked)));
  colorBy.addEventListener("change", () => { options.color_by = colorBy.value; view.key.innerHTML = keyHTML(view); view.refreshStarts(); draw(view, view.index); });
  sigma.addEventListener("change", () => { options.n_std = Number(sigma.value); view.key.innerHTML = keyHTML(view); view.refreshStarts(); draw(view, view.index); });
  chart.addEventListener("change", () => { options.vowel_chart = chart.checked; rebuildGeometry(view); view.refreshStarts(); draw(view, view.index); });

  const position = (event) => {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  canvas.addEventListener("mousemove", (event) => {
    const [x, y] = position(event);
    const n = nearestToken(view, x, y, 6);
    if (n < 0) { tooltip.hidden = true; return; }
    tooltip.innerHTML = tooltipHTML(view, n);
    tooltip.dataset.token = String(n);
    const rootBox = root.getBoundingClientRect();
    tooltip.style.left = `${event.clientX - rootBox.left + 14}px`;
    tooltip.style.top = `${event.clientY - rootBox.top + 14}px`;
    tooltip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tooltip.hidden = true; });
  const placing = () => view.placed !== null;
  const showPlaced = () => {
    caption.textContent = `Placing initial means: ${view.placed.length} of at most ${MAX_PLACED} placed. ` +
      "Click on the chart to add one; Run EM starts from them (equal weights, each Gaussian as wide as the data).";
    runPlaced.disabled = view.placed.length === 0;
    clearPlaced.disabled = view.placed.length === 0;
    root.dataset.placed = String(view.placed.length);
    draw(view, view.index);
  };
  if (host.interactive) {
    place.addEventListener("click", () => {
      if (placing()) { view.placed = null; place.textContent = "Place initial means"; runPlaced.disabled = true; clearPlaced.disabled = true; draw(view, view.index); return; }
      if (view.timer !== null) view.play();
      view.placed = []; place.textContent = "Stop placing"; showPlaced();
    });
    clearPlaced.addEventListener("click", () => { if (placing()) { view.placed = []; showPlaced(); } });
    runPlaced.addEventListener("click", () => {
      if (!placing() || view.placed.length === 0) return;
      host.send({ type: "run", means: view.placed });
      runPlaced.disabled = true;
      caption.textContent = `Running EM from ${view.placed.length} placed means…`;
      root.dataset.running = "true";
    });
  }
  canvas.addEventListener("click", (event) => {
    const [x, y] = position(event);
    if (placing()) {
      if (view.placed.length < MAX_PLACED) view.placed.push(view.transform.toData(x, y));
      showPlaced();
      return;
    }
    const k = nearestMean(view, x, y, 9);
    const n = k < 0 ? nearestToken(view, x, y, 6) : -1;
    view.selected = k >= 0 ? { component: k } : n >= 0 ? { token: n } : null;
    if (!view.selected) panel.hidden = true;
    draw(view, view.index);
  });
  // for tests and benchmarks: the view's geometry, without reaching into closures
  root.gmmView = { view, draw: (i) => draw(view, i), append: (message) => appendStates(view, message), pixelOfToken: (n) => pixelOfToken(view, n), pixelOfMean: (k) => pixelOfMean(view, k) };
  draw(view, Number(slider.value));
  return view;
}

/** anywidget entry point (also called by the offline page with a stand-in model). */
export function render({ model, el }) {
  // ipywidgets' class for a widget view: front ends and the browser tests find widgets by it.
  el.classList.add("jupyter-widgets");
  if (model.get("live")) return renderLive({ model, el });
  const host = { interactive: !!model.get("interactive"), send: (message) => model.send(message) };
  let view = buildView(el, model.get("payload"), host);
  const onChange = () => {
    if (view.timer !== null) cancelAnimationFrame(view.timer);
    el.replaceChildren();
    view = buildView(el, model.get("payload"), host);
  };
  const onMessage = (message) => {
    if (message && message.type === "error") {
      view.caption.textContent = `Could not run: ${message.message}`;
      view.root.dataset.running = "false";
      view.root.querySelector(".run-placed")?.removeAttribute("disabled");
    }
  };
  model.on("change:payload", onChange);
  model.on("msg:custom", onMessage);
  return () => {
    if (view.timer !== null) cancelAnimationFrame(view.timer);
    model.off?.("change:payload", onChange);
    model.off?.("msg:custom", onMessage);
  };
}

// ---------------------------------------------------------------------------
// the live runner: states arrive from the kernel one message at a time

function concatTyped(a, b) {
  const out = new a.constructor(a.length + b.length);
  out.set(a); out.set(b, a.length);
  return out;
}

/**
 * Append theta_t, L(theta_t) for t = message.first, ... to the run a view draws
 * (gmm_lab.viewer.live's "states" message). States the view already has are
 * skipped. The view follows the newest state if it showed the last frame.
 * Returns false when states are missing in between (the caller asks again).
 */
export function appendStates(view, message) {
  const run = view.run;
  if (message.first > run.S) return false;
  const K = run.K;
  const skip = run.S - message.first;
  const L = decodeArray(message.log_likelihoods);
  if (skip >= L.length) return true;
  const weights = decodeArray(message.weights), means = decodeArray(message.means), covs = decodeArray(message.covariances);
  const following = view.index >= view.frames.length - 1;
  run.weights = concatTyped(run.weights, weights.subarray(skip * K));
  run.means = concatTyped(run.means, means.subarray(2 * skip * K));
  run.covs = concatTyped(run.covs, covs.subarray(4 * skip * K));
  run.L = concatTyped(run.L, L.subarray(skip));
  run.S = run.L.length;
  run.payload.n_states = run.S;
  run.payload.converged = !!message.converged;
  drawCurveBackground(view);
  let index = setFrames(view, view.half.checked);
  if (following) index = view.frames.length - 1;
  view.slider.value = String(index);
  draw(view, index);
  return true;
}

const LIVE_STYLE = `
.gmm-live-runner { font: 13px/1.35 system-ui, sans-serif; color: #111; background: #fff; padding: 6px 6px 0; }
.gmm-live-runner .live-settings { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; margin-bottom: 6px; }
.gmm-live-runner .live-settings fieldset { border: 1px solid #ccc; padding: 2px 8px 6px; margin: 0; }
.gmm-live-runner .live-settings legend { font-size: 12px; color: #444; }
.gmm-live-runner .live-settings .grid { display: grid; grid-template-columns: auto auto; gap: 3px 6px; align-items: center; }
.gmm-live-runner .live-buttons { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.gmm-live-runner .live-buttons button { min-width: 64px; padding: 3px 10px; }
.gmm-live-runner .live-status { margin: 4px 0; min-height: 1.4em; color: #333; }
.gmm-live-runner .live-status .error { color: #b00020; font-weight: bold; }
.gmm-live-runner .live-status .warning { color: #8a5300; }
`;

/** The live runner: the controls, then the viewer of the run so far. */
export function renderLive({ model, el }) {
  const root = element("div", { class: "gmm-live-runner gmm-lab-runner" }, el);
  element("style", { text: LIVE_STYLE }, root);
  const choices = model.get("choices");
  const bar = element("div", { class: "live-settings" }, root);

  const vowelBox = element("fieldset", {}, bar);
  element("legend", { text: "vowels (Ctrl-click for several)" }, vowelBox);
  const vowels = element("select", { class: "live-vowels", multiple: "", size: "5", "aria-label": "vowels" }, vowelBox);
  for (const v of choices.vowels) element("option", { value: v.label, text: `${v.label} /${v.ipa}/ ${v.word}` }, vowels);
  const speakerBox = element("fieldset", {}, bar);
  element("legend", { text: "speakers" }, speakerBox);
  const speakers = choices.speakers.map(([code, name]) => {
    const label = element("label", { style: "display: block" }, speakerBox);
    const box = element("input", { type: "checkbox", class: `live-speaker live-speaker-${code}`, value: code }, label);
    label.append(` ${name}`);
    return box;
  });
  const modelBox = element("fieldset", {}, bar);
  element("legend", { text: "mixture" }, modelBox);
  const grid = element("div", { class: "grid" }, modelBox);
  element("label", { text: "components K" }, grid);
  const K = element("input", { type: "number", class: "live-k", min: "1", max: String(choices.max_components), step: "1", style: "width: 4em" }, grid);
  element("label", { text: "covariance" }, grid);
  const covariance = element("select", { class: "live-covariance" }, grid);
  for (const c of choices.covariance_types) element("option", { value: c, text: c }, covariance);
  element("label", { text: "init" }, grid);
  const init = element("select", { class: "live-init" }, grid);
  for (const c of choices.init_methods) element("option", { value: c, text: c }, init);
  element("label", { text: "seed" }, grid);
  const seed = element("input", { type: "number", class: "live-seed", step: "1", style: "width: 6em" }, grid);

  const buttons = element("div", { class: "live-buttons" }, root);
  const step = element("button", { class: "live-step gmm-lab-step", text: "Step", title: "Compute one more iteration" }, buttons);
  const runButton = element("button", { class: "live-run gmm-lab-run", text: "Run", title: "Keep stepping until EM converges" }, buttons);
  const stopButton = element("button", { class: "live-stop gmm-lab-stop", text: "Stop", title: "Stop running" }, buttons);
  const reset = element("button", { class: "live-reset gmm-lab-reset", text: "Reset", title: "Back to iteration 0" }, buttons);
  const speedLabel = element("label", { text: "speed " }, buttons);
  const speed = element("input", { type: "range", class: "live-speed", min: "1", max: String(choices.max_speed), step: "1" }, speedLabel);
  const speedText = element("span", { class: "live-speed-text" }, speedLabel);
  const status = element("div", { class: "live-status" }, root);
  const holder = element("div", { class: "live-view" }, root);

  const showSettings = () => {
    const s = model.get("settings");
    for (const option of vowels.options) option.selected = s.vowels.includes(option.value);
    for (const box of speakers) box.checked = s.speakers.includes(box.value);
    K.value = String(s.n_components); covariance.value = s.covariance_type; init.value = s.init_params;
    seed.value = String(s.seed); speed.value = String(s.speed);
    speedText.textContent = ` ${s.speed} iterations/s`;
  };
  const sendSettings = () => {
    model.set("settings", {
      vowels: [...vowels.selectedOptions].map((o) => o.value),
      speakers: speakers.filter((b) => b.checked).map((b) => b.value),
      n_components: Number(K.value), covariance_type: covariance.value, init_params: init.value,
      seed: Number(seed.value), speed: Number(speed.value),
    });
    model.save_changes();
  };
  for (const control of [vowels, K, covariance, init, seed, ...speakers]) control.addEventListener("change", sendSettings);
  // JupyterLab takes keys for its own shortcuts (digits, arrows) unless the controls keep them.
  for (const control of [vowels, K, covariance, init, seed, speed, ...speakers]) {
    control.addEventListener("keydown", (event) => event.stopPropagation());
  }
  speed.addEventListener("input", () => { speedText.textContent = ` ${speed.value} iterations/s`; });
  speed.addEventListener("change", sendSettings);
  const command = (name) => model.send({ type: "command", name });
  step.addEventListener("click", () => command("step"));
  runButton.addEventListener("click", () => command("run"));
  stopButton.addEventListener("click", () => command("stop"));
  reset.addEventListener("click", () => command("reset"));

  let view = null;
  const host = { interactive: !!model.get("interactive"), send: (message) => model.send(message) };
  const showStatus = () => {
    const s = model.get("status");
    step.disabled = !s.can_step || s.running;
    runButton.disabled = !s.can_step || s.running;
    stopButton.disabled = !s.running;
    root.dataset.running = String(!!s.running);
    root.dataset.finished = String(!!s.finished);
    const parts = [];
    if (s.error) parts.push(`<span class="error">${escapeHTML(s.error)}</span>`);
    parts.push(`${s.n_states - 1} iteration${s.n_states === 2 ? "" : "s"} computed` + (s.words ? ` · ${escapeHTML(s.words)}` : ""));
    const shown = view ? String(view.frames[view.index].ellipses) : null;
    const notes = shown !== null && s.notes ? s.notes[shown] : null;
    if (notes) parts.push(...notes.map((n) => `<span class="warning">⚠ iteration ${shown}: ${escapeHTML(n)}</span>`));
    status.innerHTML = parts.join("<br>");
  };
  const build = () => {
    if (view && view.timer !== null) cancelAnimationFrame(view.timer);
    holder.replaceChildren();
    view = buildView(holder, model.get("payload"), host);
    // the newest state first, as it was computed
    const last = view.frames.length - 1;
    view.slider.value = String(last);
    draw(view, last);
    view.slider.addEventListener("input", showStatus);
    root.dataset.states = String(view.run.S);
    model.send({ type: "hello" }); // states computed before this view existed
  };
  const onPayload = () => {
    const payload = model.get("payload");
    if (view && payload.run_id === view.run.payload.run_id && payload.n_states === view.run.S) {
      // the same run, already drawn: only the comparison of starts may have changed
      view.run.payload.starts = payload.starts;
      view.run.payload.current_start = payload.current_start;
      view.run.payload.converged = payload.converged;
      view.refreshStarts();
      return;
    }
    build();
  };
  const onMessage = (message) => {
    if (!message || !view) return;
    if (message.type === "states" && message.run_id === view.run.payload.run_id) {
      if (!appendStates(view, message)) model.send({ type: "hello" });
      root.dataset.states = String(view.run.S);
      showStatus();
    } else if (message.type === "error") {
      status.innerHTML = `<span class="error">${escapeHTML(message.message)}</span>`;
    }
  };
  showSettings();
  build();
  showStatus();
  model.on("change:payload", onPayload);
  model.on("change:status", showStatus);
  model.on("change:settings", showSettings);
  model.on("msg:custom", onMessage);
  return () => {
    if (view && view.timer !== null) cancelAnimationFrame(view.timer);
    model.off?.("change:payload", onPayload);
    model.off?.("change:status", showStatus);
    model.off?.("change:settings", showSettings);
    model.off?.("msg:custom", onMessage);
  };
}

function escapeHTML(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

export default { render };
