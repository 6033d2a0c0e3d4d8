#!/usr/bin/env bash
# The production layout, smoke-tested on this machine: one web process (`alix serve`) and two
# job workers (`alix worker`) on the local PostgreSQL (scripts/ensure-postgres.sh), the Zoho CRM
# emulator as Zoho; an initial sync, a push, /readyz and /metrics. `make test` runs the same test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
exec .venv/bin/python -m pytest -p no:cacheprovider -q -s \
  tests/integration/platform/test_production_smoke.py "$@"
