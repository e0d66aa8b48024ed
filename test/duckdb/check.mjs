// check.mjs RUN_DIR: DuckDB, a reader that shares no code with ours, reads
// a run folder's Parquet files and checks them against the journal, against
// docs/parquet-schema.md and against summary.json. Exits 1 on any mismatch.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node check.mjs RUN_DIR');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) {
    passed++;
  } else {
    failed++;
    console.error(`FAIL ${what}`);
  }
}
const close = (a, b, tol = 1e-6) => a !== null && b !== null && Math.abs(a - b) <= tol;
const num = (v) => (v === null || v === undefined ? null : Number(v));
const sqlPath = (name) => `'${join(dir, name).replaceAll("'", "''")}'`;

// The journal, read here with plain JSON.parse: the counts to match.
const journal = [];
for (const line of readFileSync(join(dir, 'requests.jsonl'), 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  try {
    journal.push(JSON.parse(line));
  } catch {
    // a torn last line is skipped by the exporter too
  }
}
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));

// Column tables of docs/parquet-schema.md: | `name` | Parquet | DuckDB | null | unit | meaning |
const documented = {};
let section = '';
for (const line of readFileSync(join(here, '..', '..', 'docs', 'parquet-schema.md'), 'utf8').split('\n')) {
  if (line.startsWith('## ')) section = line.slice(3).trim();
  const cells = line.split('|');
  if (cells.length === 8 && cells[1].trim().startsWith('`')) {
    (documented[section] ??= []).push(`${cells[1].trim().replaceAll('`', '')} ${cells[3].trim()}`);
  }
}

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();

// A run that scraped a vLLM or TGI engine has metrics.parquet too.
const scraped = Object.keys(manifest.metrics_scrapes ?? {}).length > 0;
check(!scraped || existsSync(join(dir, 'metrics.parquet')), 'the run scraped engine metrics but has no metrics.parquet');
const parquetFiles = ['requests.parquet', 'chunks.parquet', 'summary.parquet'];
if (existsSync(join(dir, 'metrics.parquet'))) parquetFiles.push('metrics.parquet');
for (const file of parquetFiles) {
  const cols = (await rows(`DESCRIBE SELECT * FROM read_parquet(${sqlPath(file)})`)).map((r) => `${r.column_name} ${r.column_type}`);
  const want = documented[file] ?? [];
  check(JSON.stringify(cols) === JSON.stringify(want), `${file}: DESCRIBE gives\n  ${cols.join(', ')}\nbut docs/parquet-schema.md says\n  ${want.join(', ')}`);
  const meta = Object.fromEntries((await rows(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlPath(file)})`)).map((r) => [r.k, r.v]));
  check(meta['llmbench.schema_version'] === '1', `${file}: llmbench.schema_version is ${meta['llmbench.schema_version']}`);
  check(meta['llmbench.run_id'] === manifest.run_id, `${file}: llmbench.run_id is ${meta['llmbench.run_id']}, the manifest says ${manifest.run_id}`);
  check(meta['llmbench.tool_version'] === manifest.tool_version, `${file}: llmbench.tool_version is ${meta['llmbench.tool_version']}, the manifest says ${manifest.tool_version}`);
}

await con.run(`CREATE VIEW requests AS SELECT * FROM read_parquet(${sqlPath('requests.parquet')})`);
await con.run(`CREATE VIEW chunks AS SELECT * FROM read_parquet(${sqlPath('chunks.parquet')})`);
await con.run(`CREATE VIEW summary AS SELECT * FROM read_parquet(${sqlPath('summary.parquet')})`);

const [counts] = await rows(`SELECT count(*) AS n, sum(chunks) AS chunks, count(DISTINCT request_id) AS ids FROM requests`);
const journalChunks = journal.reduce((s, r) => s + r.chunks, 0);
check(num(counts.n) === journal.length, `requests.parquet has ${counts.n} rows, the journal ${journal.length}`);
check(num(counts.ids) === journal.length, `request_id is not unique: ${counts.ids} ids for ${journal.length} rows`);
check(num(counts.chunks) === journalChunks, `requests.parquet sums ${counts.chunks} chunks, the journal ${journalChunks}`);
const [chunkCount] = await rows(`SELECT count(*) AS n FROM chunks`);
check(num(chunkCount.n) === journalChunks, `chunks.parquet has ${chunkCount.n} rows, the journal ${journalChunks} chunks`);
const [orphans] = await rows(`SELECT count(*) AS n FROM chunks c ANTI JOIN requests r USING (run_id, request_id)`);
check(num(orphans.n) === 0, `${orphans.n} chunks join no request`);
// A chunk's token count is 1 exactly when the server's count equals the
// request's chunks, and null otherwise; where known it sums to the count.
const [tokenRows] = await rows(`
  WITH c AS (SELECT run_id, request_id, sum(tokens) AS t, count(tokens) AS k, count(*) AS n FROM chunks GROUP BY ALL)
  SELECT count(*) FILTER (WHERE r.output_tokens_source <> 'chunks_estimated' AND r.output_tokens = r.chunks) AS known,
         count(*) FILTER (WHERE NOT (CASE WHEN r.output_tokens_source <> 'chunks_estimated' AND r.output_tokens = r.chunks
                                          THEN c.k = c.n AND c.t = r.output_tokens ELSE c.k = 0 END)) AS bad
  FROM requests r JOIN c USING (run_id, request_id)`);
check(num(tokenRows.known) > 0, 'no request has per-chunk token counts');
check(num(tokenRows.bad) === 0, `${tokenRows.bad} requests whose chunk token counts disagree with output_tokens`);
const [stamps] = await rows(`SELECT count(*) AS n FROM requests WHERE epoch_us(start_ts) <> start_unix_ns // 1000
  OR epoch_us(intended_start_ts) <> intended_start_unix_ns // 1000 OR epoch_us(end_ts) <> end_unix_ns // 1000`);
check(num(stamps.n) === 0, `${stamps.n} timestamps differ from their *_unix_ns`);

// Every statistic of these metrics, recomputed by DuckDB from the rows, must
// equal summary.json's. quantile_cont interpolates linearly, as we do.
const measured = `phase = 'measure' AND error_class NOT IN ('dropped', 'canceled')`;
const steady = `${measured} AND ok AND NOT cold_start`;
const metrics = {
  ttft_ms: ['requests', 'ttft_ms', steady],
  ttfb_ms: ['requests', 'ttfb_ms', steady],
  ttft_content_ms: ['requests', 'ttft_content_ms', steady],
  tpot_ms: ['requests', 'tpot_ms', steady],
  e2e_ms: ['requests', 'e2e_ms', steady],
  output_tokens_per_s: ['requests', 'output_tokens_per_s', steady],
  output_tokens: ['requests', 'output_tokens::DOUBLE', steady],
  ttft_from_arrival_ms: ['requests', 'schedule_lag_ms + ttft_ms', steady],
  schedule_lag_ms: ['requests', 'schedule_lag_ms', measured],
  itl_ms: ['chunks c JOIN requests USING (run_id, engine, scenario, request_id)', 'c.gap_ms', steady],
};
const groups = new Map(summary.groups.map((g) => [`${g.engine}/${g.scenario}`, g]));
let compared = 0;
for (const [metric, [from, expr, where]] of Object.entries(metrics)) {
  const got = await rows(`SELECT engine, scenario, count(${expr}) AS count, min(${expr}) AS min, avg(${expr}) AS mean,
      stddev_samp(${expr}) AS stddev, quantile_cont(${expr}, 0.5) AS p50, quantile_cont(${expr}, 0.9) AS p90,
      quantile_cont(${expr}, 0.95) AS p95, quantile_cont(${expr}, 0.99) AS p99, max(${expr}) AS max
    FROM ${from} WHERE ${where} AND ${expr} IS NOT NULL GROUP BY ALL ORDER BY ALL`);
  for (const r of got) {
    const st = groups.get(`${r.engine}/${r.scenario}`)?.metrics?.[metric];
    if (!st) {
      check(false, `${r.engine}/${r.scenario}: DuckDB finds ${metric} samples, summary.json has none`);
      continue;
    }
    for (const stat of ['count', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'max', 'stddev']) {
      if (stat === 'stddev' && st.count < 2) continue; // stddev_samp of one sample is NULL, ours 0
      check(close(num(r[stat]), st[stat]), `${r.engine}/${r.scenario} ${metric} ${stat}: DuckDB ${r[stat]}, summary.json ${st[stat]}`);
      compared++;
    }
  }
}
check(compared > 0, 'no statistic was compared: is the run empty?');

// summary.parquet holds summary.json's numbers.
const long = new Map((await rows(`SELECT engine, scenario, metric, statistic, value FROM summary`))
  .map((r) => [`${r.engine}/${r.scenario}/${r.metric}/${r.statistic}`, r.value]));
for (const g of summary.groups) {
  const key = (metric, stat = 'value') => `${g.engine}/${g.scenario}/${metric}/${stat}`;
  const same = (metric, stat, want) => check(close(long.get(key(metric, stat)) ?? null, want, 1e-9),
    `summary.parquet ${key(metric, stat)} = ${long.get(key(metric, stat))}, summary.json ${want}`);
  for (const f of ['requests', 'succeeded', 'failed', 'error_rate', 'window_s', 'requests_per_s', 'output_tokens_total']) same(f, 'value', g[f]);
  same('throughput_output_tokens_per_s', 'value', g.output_tokens_per_s);
  for (const [metric, st] of Object.entries(g.metrics ?? {})) {
    for (const stat of ['count', 'min', 'mean', 'stddev', 'p50', 'p90', 'p95', 'p99', 'max']) same(metric, stat, st[stat]);
  }
  if (g.target) {
    const name = `target.${g.target.metric}${g.target.from_arrival ? '_from_arrival_ms' : '_ms'}`;
    same(name, 'met', g.target.met ? 1 : 0);
    same(name, 'limit_ms', g.target.limit_ms);
    if (g.target.value === null) check(long.has(key(name)) && long.get(key(name)) === null, `summary.parquet ${key(name)} must be null`);
    else same(name, 'value', g.target.value);
  }
  if (g.cold_start) same('cold_start.count', 'value', g.cold_start.count);
  if (g.reconciliation) same('reconciliation.decode_rate_ratio', 'value', g.reconciliation.decode_rate_ratio);
}

// metrics.parquet holds every line of metrics.jsonl, and the reconciled
// server figures in summary.json are its deltas: recomputed here in SQL
// from the two scrapes that bound each window (JSON numbers hold the
// nanosecond stamps to a few hundred ns; scrapes are milliseconds apart).
if (parquetFiles.includes('metrics.parquet')) {
  await con.run(`CREATE VIEW metrics AS SELECT * FROM read_parquet(${sqlPath('metrics.parquet')})`);
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
  const [m] = await rows('SELECT count(*) AS n FROM metrics');
  check(num(m.n) === lines, `metrics.parquet has ${m.n} rows, metrics.jsonl ${lines} lines`);
  const windows = (summary.engine_metrics ?? []).filter((w) => !w.unavailable);
  check(!scraped || windows.length > 0, 'the run scraped engine metrics but summary.json reconciles no window');
  for (const w of windows) {
    for (const p of w.phases ?? []) {
      if (p.server.estimated) continue;
      const at = (ts, suffix) => `SELECT sum(value) AS v FROM metrics WHERE engine = '${w.engine.replaceAll("'", "''")}' AND abs(ts_unix_ns - ${ts}) < 1000
        AND metric = '${p.metric}${suffix}'${p.metric === 'tgi_batch_inference_duration' ? ` AND json_extract_string(labels, '$.method') = 'prefill'` : ''}`;
      const delta = async (suffix) => num((await rows(at(w.end_unix_ns, suffix)))[0].v) - num((await rows(at(w.start_unix_ns, suffix)))[0].v);
      const n = await delta('_count');
      const sum = await delta('_sum');
      check(n === p.server.count && close((sum / n) * 1000, p.server.mean_ms, 1e-6 * Math.max(1, p.server.mean_ms)),
        `${w.engine}/${w.scenario} ${p.phase}: metrics.parquet gives ${n} observations of mean ${(sum / n) * 1000} ms, summary.json ${p.server.count} of ${p.server.mean_ms}`);
    }
  }
}

// The CSV twins, where written, hold the same columns and rows.
for (const [csv, table] of [['requests.csv', 'requests'], ['summary.csv', 'summary']]) {
  if (!existsSync(join(dir, csv))) continue;
  const from = `read_csv(${sqlPath(csv)}, header = true)`;
  const names = async (q) => (await rows(`DESCRIBE SELECT * FROM ${q}`)).map((r) => r.column_name).join(',');
  check((await names(from)) === (await names(table)), `${csv}: columns differ from ${table}.parquet`);
  const value = table === 'requests' ? 'ttft_ms' : 'value';
  const [a] = await rows(`SELECT count(*) AS n, count(${value}) AS nn, sum(${value}) AS s FROM ${from}`);
  const [b] = await rows(`SELECT count(*) AS n, count(${value}) AS nn, sum(${value}) AS s FROM ${table}`);
  check(num(a.n) === num(b.n) && num(a.nn) === num(b.nn) && close(a.s, b.s, 1e-9),
    `${csv}: ${a.n} rows, ${a.nn} ${value} summing to ${a.s}; ${table}.parquet ${b.n}, ${b.nn}, ${b.s}`);
}

console.log(`duckdb: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
