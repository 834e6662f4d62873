#!/usr/bin/env bash
# B1 ingest: a fresh PostgreSQL database, migrated, then `dmc bench ingest` (raw COPY vs Django
# bulk_create vs dmc load of the same file, in one run; load last).
#   bench/ingest.sh [SCHOOLS] [STUDENTS] [extra `dmc bench ingest` options]
# The full nation from an existing synth file, bulk_create measured on 200,000 rows and the
# database left loaded:
#   .venv/bin/dmc synth --out /tmp/nation.csv --schools-out /tmp/nation.schools
#   bench/ingest.sh 0 0 --file /tmp/nation.csv --schools-csv /tmp/nation.schools \
#       --bulk-rows 200000 --keep
set -euo pipefail
cd "$(dirname "$0")/.."
SCHOOLS=${1:-1000}
STUDENTS=${2:-200000}
shift $(( $# < 2 ? $# : 2 ))
PGHOST=${PGHOST:-127.0.0.1}
DB=${BENCH_DB:-dmc_bench}
psql -h "$PGHOST" -U postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export DATABASE_URL="postgres://postgres@$PGHOST:5432/$DB"
.venv/bin/dmc migrate -v0
.venv/bin/dmc bench ingest --schools "$SCHOOLS" --students "$STUDENTS" "$@"
