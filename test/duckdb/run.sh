#!/usr/bin/env bash
# test/duckdb/run.sh [RUN_DIR]: check a run folder's Parquet files with
# DuckDB (check.mjs). Without RUN_DIR it benchmarks the built-in simulators
# into a temporary folder first. Writes the Parquet files with
# ./writeparquet when the folder has none. Exits non-zero on any mismatch.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
  npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
fi

dir=${1:-}
if [ -z "$dir" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$root" && go build -o "$tmp/kubectl-llmbench" ./cmd/kubectl-llmbench)
  "$tmp/kubectl-llmbench" run --simulate --preset quick --parallel --iterations 5 --requests 24 --duration 3s --max-tokens 32 \
    --output-dir "$tmp/results" >"$tmp/run.out" 2>&1 || { cat "$tmp/run.out"; exit 1; }
  dir=$(ls -d "$tmp"/results/*/)
fi
if [ ! -f "$dir/requests.parquet" ]; then
  (cd "$root" && go run ./test/duckdb/writeparquet "$dir")
fi
node "$here/check.mjs" "$dir"
