#!/usr/bin/env bash
# B1 ingest: a fresh PostgreSQL database, migrated, then `dmc bench ingest` (raw COPY vs dmc load vs
# Django bulk_create of the same file, in one run). Usage: bench/ingest.sh [SCHOOLS] [STUDENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
SCHOOLS=${1:-1000}
STUDENTS=${2:-200000}
PGHOST=${PGHOST:-127.0.0.1}
DB=${BENCH_DB:-dmc_bench}
psql -h "$PGHOST" -U postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export DATABASE_URL="postgres://postgres@$PGHOST:5432/$DB"
.venv/bin/dmc migrate -v0
.venv/bin/dmc bench ingest --schools "$SCHOOLS" --students "$STUDENTS"
