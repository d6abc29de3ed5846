#!/usr/bin/env bash
# Crash drill (issue 8): SIGKILL the server under a load of codes, scans and claims, restart it
# on the same data directory, and check after every cycle that nothing acknowledged was lost,
# nothing was accepted twice, the database is intact and the audit chain verifies.
#   scripts/crash-drill.sh [CYCLES]     (default 50; `make test` runs 5)
#   MSB_BIN   the mashangban binary (default .build/release/mashangban)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/crash_drill.py --bin "${MSB_BIN:-.build/release/mashangban}" --cycles "${1:-50}"
