// report.js: report.html's interactive charts, drawn with the embedded
// uPlot from the JSON in #llmbench-chart-data, which pkg/export derives
// from the run's records (chart_interactive.go). This script computes no
// statistic: it lays the page's numbers out. Each interactive chart takes
// the place of its static SVG, which stays in the page for print and for
// readers without scripts. Names from the run reach the page only as
// textContent. Plain ES2017, no library but uPlot.
(function () {
  'use strict';
  const dataEl = document.getElementById('llmbench-chart-data');
  if (!dataEl || typeof uPlot !== 'function') {
    return;
  }
  const data = JSON.parse(dataEl.textContent);
  const engines = data.engines || [];
  const ink = '#222222';
  const grid = '#E3E3E3';
  const height = 340;

  const num = (v, digits) => v.toLocaleString('en-US', {maximumFractionDigits: digits});
  const ms = (v) => num(v, 3) + ' ms';
  const scenarioName = (i) => (i >= 0 && i < data.scenarios.length ? data.scenarios[i] : '?');

  // host finds the static chart an interactive one replaces and gives it
  // a container; the SVG is hidden by CSS only once the chart is drawn.
  function host(kind) {
    const el = document.querySelector('.chart[data-interactive="' + kind + '"]');
    if (!el) {
      return null;
    }
    const box = document.createElement('span');
    box.className = 'ichart';
    box.setAttribute('data-kind', kind);
    el.appendChild(box);
    return {el: el, box: box};
  }

  function note(box, text) {
    const p = document.createElement('span');
    p.className = 'ichart-note';
    p.textContent = text;
    box.appendChild(p);
  }

  function axes(xLabel, yLabel) {
    const style = {stroke: ink, grid: {stroke: grid, width: 1}, ticks: {stroke: grid, width: 1}};
    return [Object.assign({label: xLabel}, style), Object.assign({label: yLabel, size: 60}, style)];
  }

  // wheelPlugin pans the x axis with shift+wheel and zooms it around the
  // pointer with ctrl+wheel or alt+wheel; a plain wheel scrolls the page.
  function wheelPlugin() {
    return {
      hooks: {
        ready: (u) => {
          u.over.addEventListener('wheel', (e) => {
            if (!(e.shiftKey || e.ctrlKey || e.altKey)) {
              return;
            }
            e.preventDefault();
            const min = u.scales.x.min;
            const max = u.scales.x.max;
            const range = max - min;
            const delta = e.deltaY || e.deltaX;
            if (e.shiftKey) {
              const shift = (delta > 0 ? 0.1 : -0.1) * range;
              u.setScale('x', {min: min + shift, max: max + shift});
              return;
            }
            const at = u.posToVal(e.offsetX, 'x');
            const f = delta > 0 ? 1.25 : 0.8;
            u.setScale('x', {min: at - (at - min) * f, max: at + (max - at) * f});
          }, {passive: false});
        },
      },
    };
  }

  // draw makes one uPlot chart the width of its container, and follows
  // the container's width.
  function draw(h, opts, table) {
    const width = () => Math.max(320, h.el.clientWidth - 16);
    opts.width = width();
    opts.height = height;
    opts.plugins = (opts.plugins || []).concat([wheelPlugin()]);
    opts.cursor = Object.assign({drag: {x: true, y: false, setScale: true}, hover: {skip: [null, undefined]}}, opts.cursor || {});
    const u = new uPlot(opts, table, h.box);
    h.el.classList.add('has-interactive');
    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(() => {
        if (width() !== u.width) {
          u.setSize({width: width(), height: height});
        }
      }).observe(h.el);
    }
    return u;
  }

  // picker adds a scenario selector when a chart has one view per scenario.
  function picker(box, views, show) {
    if (views.length < 2) {
      show(0);
      return;
    }
    const label = document.createElement('label');
    label.className = 'ichart-pick';
    box.insertBefore(label, box.firstChild);
    label.textContent = 'Scenario ';
    const sel = document.createElement('select');
    views.forEach((v, i) => {
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = v.scenario;
      sel.appendChild(o);
    });
    label.appendChild(sel);
    sel.addEventListener('change', () => show(Number(sel.value)));
    show(0);
  }

  function ttftOverRun() {
    const t = data.ttft_over_run;
    const h = t && host('ttft_over_run');
    if (!h) {
      return;
    }
    // One row per request; an engine's series has a value only in its
    // own rows (undefined elsewhere: a gap, skipped on hover).
    const series = [{label: 'sent at', value: (u, v) => (v == null ? '–' : num(v, 3) + ' s')}];
    const table = [t.start_s];
    engines.forEach((e, ei) => {
      table.push(t.ttft_ms.map((v, i) => (t.engine[i] === ei ? v : undefined)));
      series.push({
        label: e.name, stroke: e.color, fill: e.color, paths: () => null,
        points: {show: true, size: 5, width: 1, stroke: e.color, fill: e.color},
        value: (u, v, si, idx) => (v == null || idx == null ? '–'
          : ms(v) + ' · request ' + t.request_id[idx] + ' · ' + scenarioName(t.scenario[idx])),
      });
    });
    draw(h, {series: series, scales: {x: {time: false}}, axes: axes('seconds since the first measured request', 'TTFT (ms)')}, table);
    let text = 'Every scenario on one timeline. Hover for a request\u2019s exact TTFT, id and scenario; drag to zoom, shift+wheel to pan, ctrl+wheel to zoom, double-click to reset; click an engine to hide it.';
    engines.forEach((e, ei) => {
      if (t.shown[ei] < t.total[ei]) {
        text += ' ' + e.name + ': ' + num(t.shown[ei], 0) + ' of ' + num(t.total[ei], 0) + ' requests shown (a seeded uniform sample).';
      }
    });
    note(h.box, text);
  }

  function throughput() {
    const t = data.throughput;
    const h = t && host('throughput');
    if (!h) {
      return;
    }
    const series = [{label: 'at', value: (u, v) => (v == null ? '–' : num(v, 3) + ' s')}];
    const table = [t.mid_s];
    engines.forEach((e, ei) => {
      if (!t.tokens_per_s[ei]) {
        return;
      }
      table.push(t.tokens_per_s[ei]);
      series.push({label: e.name, stroke: e.color, width: 1.5, points: {show: false},
        value: (u, v) => (v == null ? '–' : num(v, 1) + ' tokens/s')});
    });
    draw(h, {series: series, scales: {x: {time: false}, y: {range: (u, min, max) => [0, max > 0 ? max * 1.05 : 1]}},
      axes: axes('seconds since the first measured request', 'output tokens/s')}, table);
    note(h.box, 'Output tokens per second per engine across the whole run, in ' + num(t.bin_s, 1) + ' s bins. Drag to zoom, shift+wheel to pan, double-click to reset.');
  }

  // perScenario draws one chart per view and swaps it with the picker.
  function perScenario(kind, views, build, text) {
    const h = views && views.length > 0 && host(kind);
    if (!h) {
      return;
    }
    let u = null;
    const holder = document.createElement('span');
    holder.className = 'ichart-plot';
    const inner = {el: h.el, box: holder};
    h.box.appendChild(holder);
    picker(h.box, views, (i) => {
      if (u) {
        u.destroy();
      }
      const made = build(views[i]);
      u = draw(inner, made.opts, made.table);
    });
    note(h.box, text);
  }

  function histogram() {
    perScenario('ttft_histogram', data.ttft_histogram, (v) => {
      const n = v.edges_ms.length - 1;
      const series = [{label: 'TTFT bin', value: (u, x, si, idx) => (idx == null || idx >= n ? '–'
        : ms(v.edges_ms[idx]) + ' – ' + ms(v.edges_ms[idx + 1]))}];
      const table = [v.edges_ms];
      engines.forEach((e, ei) => {
        if (!v.count[ei]) {
          return;
        }
        // The last edge closes the last bin.
        table.push(v.share_pct[ei].concat([v.share_pct[ei][n - 1]]));
        series.push({label: e.name, stroke: e.color, fill: e.color + '40', width: 1.5,
          paths: uPlot.paths.stepped({align: 1}), points: {show: false},
          value: (u, y, si, idx) => (y == null || idx == null || idx >= n ? '–'
            : num(y, 2) + '% of ' + num(v.count[ei], 0))});
      });
      return {table: table, opts: {series: series, scales: {x: {time: false}, y: {range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1]}},
        axes: axes('TTFT (ms)', 'share of requests (%)')}};
    }, 'Share of each engine\u2019s successful measured requests per TTFT bin, the same bins for every engine. Hover for a bin\u2019s shares; drag to zoom; click an engine to hide it.');
  }

  function cdf() {
    perScenario('ttft_cdf', data.ttft_cdf, (v) => {
      const present = [];
      engines.forEach((e, ei) => {
        if (v.ttft_ms[ei] && v.ttft_ms[ei].length) {
          present.push(ei);
        }
      });
      const table = uPlot.join(present.map((ei) => [v.ttft_ms[ei], v.pct[ei]]));
      const series = [{label: 'TTFT', value: (u, x) => (x == null ? '–' : ms(x))}];
      present.forEach((ei) => {
        const e = engines[ei];
        series.push({label: e.name, stroke: e.color, width: 1.8, spanGaps: true,
          paths: uPlot.paths.stepped({align: 1}), points: {show: false},
          value: (u, y) => (y == null ? '–' : num(y, 2) + '% at or below')});
      });
      return {table: table, opts: {series: series, scales: {x: {time: false}, y: {range: [0, 100]}},
        axes: axes('TTFT (ms)', 'requests at or below (%)')}};
    }, 'Share of each engine\u2019s successful measured requests with a TTFT at or below each value; hover for the share at a TTFT, drag to zoom into the tail.');
  }

  // radar: the SVG is drawn in Go with a <title> on every corner; the
  // legend's keys hide and show an engine.
  function radar() {
    const el = document.querySelector('.chart[data-interactive="radar"]');
    if (!el) {
      return;
    }
    el.querySelectorAll('.radar-key').forEach((key) => {
      const i = key.getAttribute('data-series');
      const poly = el.querySelector('.radar-series[data-series="' + i + '"]');
      key.setAttribute('role', 'button');
      key.setAttribute('tabindex', '0');
      key.setAttribute('aria-pressed', 'true');
      const toggle = () => {
        const off = key.classList.toggle('off');
        key.setAttribute('aria-pressed', off ? 'false' : 'true');
        if (poly) {
          poly.classList.toggle('off', off);
        }
      };
      key.addEventListener('click', toggle);
      key.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          toggle();
        }
      });
    });
    el.classList.add('radar-live');
  }

  ttftOverRun();
  throughput();
  histogram();
  cdf();
  radar();
  document.documentElement.setAttribute('data-charts', 'ready');
})();
