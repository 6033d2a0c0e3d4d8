#!/usr/bin/env bash
# Runs every benchmark in bench/ one after the other and prints their tables.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
status=0
for bench in bench/[!_]*.py; do
  echo "=== $bench"
  .venv/bin/python "$bench" || { echo "FAILED: $bench"; status=1; }
done
exit $status
