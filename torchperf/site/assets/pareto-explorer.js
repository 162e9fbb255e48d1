/* torchperf: interactive Pareto fronts across revisions (no dependencies, no network).
 *
 * Reads the JSON data block #tp-pareto-data (schema torchperf.pareto_explorer, see
 * torchperf/site/explorer.py), draws for the selected machine x environment and revision
 * the latency / error-rate and latency / peak-memory fronts as SVG (the previous revision
 * faint), steps through revisions with the slider and the arrow keys, and shows a tooltip
 * with model, revision, values, intervals and front status on hover or keyboard focus.
 * Every text goes through textContent; no innerHTML, no eval, no inline handlers.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 520, H = 380, M = { l: 72, r: 16, t: 28, b: 52 };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]); }
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function html(tag, text) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; return e; }

  function sig(x, d) {
    if (x === 0) return "0";
    var s = Number(x).toPrecision(d);
    return String(Number(s));
  }
  var SI = [[1e-9, "ns"], [1e-6, "\u00b5s"], [1e-3, "ms"], [1, "s"]];
  function fmt(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) return "n/a";
    if (unit === "s") {
      var a = Math.abs(v), pick = SI[0];
      for (var i = 0; i < SI.length; i++) { if (a >= SI[i][0] * 0.9995) pick = SI[i]; }
      return sig(v / pick[0], 3) + " " + pick[1];
    }
    if (unit === "B") {
      var units = ["B", "kB", "MB", "GB", "TB"], j = 0, b = v;
      while (Math.abs(b) >= 1000 && j < units.length - 1) { b /= 1000; j++; }
      return sig(b, 3) + " " + units[j];
    }
    if (unit === "%") return sig(v, 3) + " %";
    return sig(v, 4) + (unit ? " " + unit : "");
  }

  function Explorer(data) {
    this.d = data;
    this.series = 0;
    this.pos = 0; // index into series.rev
    this.metric = {};
    for (var k in data.metrics) { if (Object.prototype.hasOwnProperty.call(data.metrics, k)) this.metric[k] = data.metrics[k]; }
  }

  Explorer.prototype.s = function () { return this.d.series[this.series]; };

  // value of column `col` at row `r` in the metric's unit (null when missing)
  Explorer.prototype.val = function (col, r, metric) {
    var c = this.s()[col], v = c ? c[r] : null;  // a column null in every row is left out
    return v === null || v === undefined ? null : v * this.metric[metric].scale;
  };

  Explorer.prototype.rows = function (pos) {
    var s = this.s(), out = [];
    if (pos < 0 || pos >= s.rev.length) return out;
    for (var r = s.offset[pos]; r < s.offset[pos + 1]; r++) out.push(r);
    return out;
  };

  // axis over every revision of the series (values and bounds), log when the span exceeds 20x;
  // computed once per series and metric (a scan of every row), then reused by every redraw
  Explorer.prototype.axis = function (metric) {
    var key = this.series + "/" + metric;
    if (!this.axes) this.axes = {};
    if (!this.axes[key]) this.axes[key] = this.scanAxis(metric);
    return this.axes[key];
  };

  Explorer.prototype.scanAxis = function (metric) {
    var s = this.s(), lo = Infinity, hi = -Infinity, cols = [metric, metric + "_lo", metric + "_hi"];
    for (var c = 0; c < 3; c++) {
      var col = s[cols[c]] || [];
      for (var r = 0; r < col.length; r++) {
        var v = col[r];
        if (v === null) continue;
        v *= this.metric[metric].scale;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    var log = lo > 0 && hi / lo > 20;
    if (log) { lo = lo / 1.25; hi = hi * 1.25; }
    else {
      var pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
      lo = Math.max(lo - pad, lo >= 0 ? 0 : -Infinity); hi = hi + pad;
    }
    return { lo: lo, hi: hi, log: log };
  };

  function scaler(ax, a, b) {
    if (ax.log) {
      var l0 = Math.log10(ax.lo), l1 = Math.log10(ax.hi);
      return function (v) { return a + (Math.log10(v) - l0) / (l1 - l0) * (b - a); };
    }
    return function (v) { return a + (v - ax.lo) / (ax.hi - ax.lo) * (b - a); };
  }

  function ticks(ax) {
    var out = [];
    if (ax.log) {
      for (var e = Math.floor(Math.log10(ax.lo)); e <= Math.ceil(Math.log10(ax.hi)); e++) {
        var t = Math.pow(10, e);
        if (t >= ax.lo && t <= ax.hi) out.push(t);
      }
      if (out.length < 2) {
        for (var e2 = Math.floor(Math.log10(ax.lo)); e2 <= Math.ceil(Math.log10(ax.hi)); e2++) {
          [2, 5].forEach(function (m) { var t2 = m * Math.pow(10, e2); if (t2 >= ax.lo && t2 <= ax.hi) out.push(t2); });
        }
        out.sort(function (x, y) { return x - y; });
      }
      return out;
    }
    var span = ax.hi - ax.lo, step = Math.pow(10, Math.floor(Math.log10(span / 5)));
    if (span / step > 10) step *= 2;
    if (span / step > 10) step *= 2.5;
    for (var v = Math.ceil(ax.lo / step) * step; v <= ax.hi + 1e-12 * span; v += step) out.push(v);
    return out;
  }

  Explorer.prototype.panel = function (x, y) {
    var s = this.s(), self = this, sc = s["status_" + y] || [];
    var ax = this.axis(x), ay = this.axis(y);
    var X = scaler(ax, M.l, W - M.r), Y = scaler(ay, H - M.b, M.t);
    var mx = this.metric[x], my = this.metric[y];
    var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "group",
      "aria-label": my.label + " vs " + mx.label, "data-front": y });
    svg.appendChild(el("text", { x: M.l, y: 16, "font-size": 13, "font-weight": "bold" },
      my.label + " vs " + mx.label));
    // axes and ticks
    var g = el("g", { "font-size": 10, fill: "#333" });
    g.appendChild(el("line", { x1: M.l, y1: H - M.b, x2: W - M.r, y2: H - M.b, stroke: "#444" }));
    g.appendChild(el("line", { x1: M.l, y1: M.t, x2: M.l, y2: H - M.b, stroke: "#444" }));
    ticks(ax).forEach(function (t) {
      var px = X(t);
      g.appendChild(el("line", { x1: px, y1: H - M.b, x2: px, y2: H - M.b + 4, stroke: "#444" }));
      g.appendChild(el("line", { x1: px, y1: M.t, x2: px, y2: H - M.b, stroke: "#eee" }));
      g.appendChild(el("text", { x: px, y: H - M.b + 15, "text-anchor": "middle" }, fmt(t, mx.unit)));
    });
    ticks(ay).forEach(function (t) {
      var py = Y(t);
      g.appendChild(el("line", { x1: M.l - 4, y1: py, x2: M.l, y2: py, stroke: "#444" }));
      g.appendChild(el("line", { x1: M.l, y1: py, x2: W - M.r, y2: py, stroke: "#eee" }));
      g.appendChild(el("text", { x: M.l - 6, y: py + 3, "text-anchor": "end" }, fmt(t, my.unit)));
    });
    g.appendChild(el("text", { x: (M.l + W - M.r) / 2, y: H - 12, "text-anchor": "middle", "font-size": 12 },
      mx.label + (ax.log ? " (log scale)" : "")));
    g.appendChild(el("text", { x: 14, y: (M.t + H - M.b) / 2, "text-anchor": "middle", "font-size": 12,
      transform: "rotate(-90 14 " + (M.t + H - M.b) / 2 + ")" }, my.label + (ay.log ? " (log scale)" : "")));
    svg.appendChild(g);

    function layer(pos, faint) {
      var lg = el("g", { "class": faint ? "prev" : "cur", opacity: faint ? 0.28 : 1 });
      var pts = [];
      self.rows(pos).forEach(function (r) {
        var vx = self.val(x, r, x), vy = self.val(y, r, y);
        if (vx === null || vy === null) return;
        pts.push({ r: r, x: X(vx), y: Y(vy), st: sc[r] });
      });
      // the front: members sorted by x, drawn as a staircase
      var front = pts.filter(function (p) { return p.st === 0; }).sort(function (a, b) { return a.x - b.x; });
      if (front.length > 1) {
        var d = "M" + front[0].x + "," + front[0].y;
        for (var i = 1; i < front.length; i++) d += " H" + front[i].x + " V" + front[i].y;
        lg.appendChild(el("path", { d: d, fill: "none", stroke: faint ? "#888" : "#2c3e50",
          "stroke-width": 1.5, "stroke-dasharray": faint ? "4 3" : "" }));
      }
      var color = faint ? "#888" : "#1f5fa8";
      pts.forEach(function (p) {
        var pg = el("g", faint ? { "class": "pt-prev" } : {
          "class": "pt", tabindex: 0, role: "button", "data-row": p.r, "data-model": self.d.models[s.model[p.r]],
          "aria-label": self.tipText(p.r, x, y).replace(/\n/g, "; ") });
        [[x, "h"], [y, "v"]].forEach(function (c) {
          var lo = self.val(c[0] + "_lo", p.r, c[0]), hi = self.val(c[0] + "_hi", p.r, c[0]);
          if (lo === null || hi === null) return;
          if (c[1] === "h") pg.appendChild(el("line", { x1: X(lo), x2: X(hi), y1: p.y, y2: p.y, stroke: color, "stroke-width": 1 }));
          else pg.appendChild(el("line", { x1: p.x, x2: p.x, y1: Y(lo), y2: Y(hi), stroke: color, "stroke-width": 1 }));
        });
        var fill = p.st === 0 ? color : (p.st === 1 ? "url(#tp-half-" + y + ")" : "#fff");
        pg.appendChild(el("circle", { cx: p.x, cy: p.y, r: faint ? 4 : 6, fill: faint ? (p.st === 0 ? color : "#fff") : fill,
          stroke: color, "stroke-width": 1.5 }));
        if (!faint) {
          pg.addEventListener("mouseenter", function () { self.showTip(pg, p.r, x, y); });
          pg.addEventListener("focus", function () { self.showTip(pg, p.r, x, y); });
          pg.addEventListener("mouseleave", function () { self.hideTip(); });
          pg.addEventListener("blur", function () { self.hideTip(); });
        }
        lg.appendChild(pg);
      });
      return lg;
    }
    var defs = el("defs");
    var grad = el("linearGradient", { id: "tp-half-" + y, x1: 0, x2: 1, y1: 0, y2: 0 });
    grad.appendChild(el("stop", { offset: "50%", "stop-color": "#1f5fa8" }));
    grad.appendChild(el("stop", { offset: "50%", "stop-color": "#fff" }));
    defs.appendChild(grad);
    svg.appendChild(defs);
    if (this.pos > 0) svg.appendChild(layer(this.pos - 1, true));
    svg.appendChild(layer(this.pos, false));
    return svg;
  };

  Explorer.prototype.revText = function (pos) {
    var s = this.s(), i = s.rev[pos], c = this.d.commits[i], date = this.d.dates[i];
    return c.slice(0, 8) + (date ? " (" + date + ")" : "");
  };

  function range(self, r, m) {
    var unit = self.metric[m].unit, v = self.val(m, r, m);
    if (v === null) return "n/a";
    var lo = self.val(m + "_lo", r, m), hi = self.val(m + "_hi", r, m);
    return fmt(v, unit) + (lo === null || hi === null ? " (exact)" : " [" + fmt(lo, unit) + ", " + fmt(hi, unit) + "]");
  }

  Explorer.prototype.tipText = function (r, x, y) {
    var s = this.s(), st = (s["status_" + y] || [])[r], cl = s.cl[this.pos];
    return [
      this.d.models[s.model[r]],
      "revision " + this.revText(this.pos),
      this.metric[x].label + ": " + range(this, r, x),
      this.metric[y].label + ": " + range(this, r, y),
      "CI: " + Math.round(cl * 100) + " %",
      "front: " + (st === null || st === undefined ? "n/a" : this.d.status_codes[st]),
    ].join("\n");
  };

  Explorer.prototype.showTip = function (node, r, x, y) {
    var tip = $("tp-tip"), box = node.getBoundingClientRect();
    tip.textContent = this.tipText(r, x, y);
    tip.hidden = false;
    tip.style.left = (window.scrollX + box.right + 8) + "px";
    tip.style.top = (window.scrollY + box.top - 4) + "px";
  };
  Explorer.prototype.hideTip = function () { $("tp-tip").hidden = true; };

  Explorer.prototype.table = function () {
    var s = this.s(), self = this, body = document.querySelector("#tp-values tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    this.rows(this.pos).forEach(function (r) {
      var tr = html("tr");
      tr.appendChild(html("td", self.d.models[s.model[r]]));
      ["latency", "error_rate", "peak_memory"].forEach(function (m) { tr.appendChild(html("td", range(self, r, m))); });
      self.d.fronts.forEach(function (f) {
        var st = (s["status_" + f[1]] || [])[r];
        tr.appendChild(html("td", st === null || st === undefined ? "n/a" : self.d.status_codes[st]));
      });
      body.appendChild(tr);
    });
  };

  Explorer.prototype.render = function () {
    var s = this.s(), slider = $("tp-rev"), panels = $("tp-panels"), self = this;
    this.hideTip();
    slider.max = String(s.rev.length - 1);
    slider.value = String(this.pos);
    slider.setAttribute("aria-valuetext", this.revText(this.pos));
    $("tp-rev-label").textContent = "revision " + (this.pos + 1) + " / " + s.rev.length + ": " + this.revText(this.pos) +
      " \u00b7 batch " + (s.batch === null ? "n/a" : s.batch) + " \u00b7 " + Math.round(s.cl[this.pos] * 100) + " % CI";
    while (panels.firstChild) panels.removeChild(panels.firstChild);
    this.d.fronts.forEach(function (f) {
      var has = (s[f[1]] || []).some(function (v) { return v !== null; });
      if (has) panels.appendChild(self.panel(f[0], f[1]));
    });
    this.table();
    document.body.setAttribute("data-tp-revision", this.d.commits[s.rev[this.pos]]);
  };

  Explorer.prototype.go = function (pos) {
    var n = this.s().rev.length;
    pos = Math.max(0, Math.min(n - 1, pos));
    if (pos !== this.pos) { this.pos = pos; this.render(); }
  };

  function start() {
    var node = $("tp-pareto-data"), root = $("tp-explorer");
    if (!node || !root) return;
    var data = JSON.parse(node.textContent);
    if (!data.series || !data.series.length) return;
    var ex = new Explorer(data), sel = $("tp-series"), slider = $("tp-rev");
    data.series.forEach(function (s, i) {
      var o = html("option", s.machine + " \u00b7 " + s.label);
      o.value = String(i);
      sel.appendChild(o);
    });
    ex.pos = data.series[0].rev.length - 1;
    sel.addEventListener("change", function () {
      var c = data.commits[ex.s().rev[ex.pos]];
      ex.series = Number(sel.value);
      var k = ex.s().rev.map(function (i) { return data.commits[i]; }).indexOf(c);
      ex.pos = k >= 0 ? k : ex.s().rev.length - 1;
      ex.render();
    });
    slider.addEventListener("input", function () { ex.go(Number(slider.value)); });
    $("tp-prev").addEventListener("click", function () { ex.go(ex.pos - 1); });
    $("tp-next").addEventListener("click", function () { ex.go(ex.pos + 1); });
    document.addEventListener("keydown", function (ev) {
      var t = ev.target, tag = t && t.tagName ? t.tagName.toLowerCase() : "";
      if (tag === "input" || tag === "select" || tag === "textarea" || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      var step = { ArrowLeft: -1, ArrowRight: 1, PageUp: -10, PageDown: 10 }[ev.key];
      if (step) { ex.go(ex.pos + step); ev.preventDefault(); }
      else if (ev.key === "Home") { ex.go(0); ev.preventDefault(); }
      else if (ev.key === "End") { ex.go(ex.s().rev.length - 1); ev.preventDefault(); }
    });
    root.hidden = false;
    ex.render();
    window.tpExplorer = ex;
    if (window.performance && performance.mark) performance.mark("tp-explorer-ready");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
