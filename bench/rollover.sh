#!/usr/bin/env bash
# B4 rollover: a fresh PostgreSQL database, migrated, filled with a national-size year by SQL, then
# the rollover timed against a plain INSERT … SELECT of the same rows in the same run.
# Usage: bench/rollover.sh [SCHOOLS] [STUDENTS]   (default: the full nation, 29,449 / 6,630,000)
set -euo pipefail
cd "$(dirname "$0")/.."
SCHOOLS=${1:-29449}
STUDENTS=${2:-6630000}
PGHOST=${PGHOST:-127.0.0.1}
DB=${BENCH_DB:-dmc_rollover_bench}
psql -h "$PGHOST" -U postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export DATABASE_URL="postgres://postgres@$PGHOST:5432/$DB"
.venv/bin/dmc migrate -v0
.venv/bin/python bench/rollover.py --schools "$SCHOOLS" --students "$STUDENTS"
