#!/usr/bin/env bash
# The cost of a silo's reminder range read (Orleans' ReadRangeRows1Key) with 1,000,000 reminders in the table,
# with and without IX_OrleansRemindersTable_GrainHash. Starts a throwaway PostgreSQL 15 on 127.0.0.1:55433,
# applies the project's schema, fills the table, and prints the median execution time of the range query
# (EXPLAIN ANALYZE, 5 runs) for the hash range one silo owns in clusters of 3, 30 and 300 silos.
#
#   benchmarks/reminders/range-read.sh [rows]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-1000000}
dir=$(mktemp -d)
port=55433
pg_bin=/usr/lib/postgresql/15/bin
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
cleanup() { as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT

as_postgres "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=256MB" start >/dev/null
psql() { command psql -h 127.0.0.1 -p "$port" -U postgres -d bench -qAt "$@"; }
command psql -h 127.0.0.1 -p "$port" -U postgres -qc "create database bench"

dotnet build "$root/src/Silo" -c Release -v q -nologo >/dev/null
ConnectionStrings__Stepcast="Host=127.0.0.1;Port=$port;Username=postgres;Database=bench" \
  dotnet "$root/src/Silo/bin/Release/net10.0/Stepcast.Silo.dll" migrate >/dev/null

echo "filling OrleansRemindersTable with $rows reminders (one per friend grain, hashes uniform over int32)"
psql -c "insert into OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
         select 'stepcast', 'friend/ch/U' || md5(g::text), 'wake-up', now() + (g % 43200) * interval '1 minute', 60000,
                hashtext('friend' || g), 0
         from generate_series(1, $rows) g;"
psql -c "vacuum analyze OrleansRemindersTable"

# The range one silo of N owns on the ring: (begin, end] with begin = int32 min + k * 2^32 / N.
measure() {
  local silos=$1 label=$2
  local width=$(( 4294967296 / silos ))
  local begin=$(( -2147483648 + width )) end=$(( -2147483648 + 2 * width ))
  local times=()
  for _ in 1 2 3 4 5; do
    times+=("$(psql -c "explain (analyze, format json)
      select GrainId, ReminderName, StartTime, Period, Version from OrleansRemindersTable
      where ServiceId = 'stepcast' and GrainHash > $begin and GrainHash <= $end" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])')")
  done
  local rowsread
  rowsread=$(psql -c "select count(*) from OrleansRemindersTable where ServiceId = 'stepcast' and GrainHash > $begin and GrainHash <= $end")
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  printf '| %s | 1/%s of the ring | %s | %s ms |\n' "$label" "$silos" "$rowsread" "$median"
}

echo
echo "| index | range (one silo of N) | rows returned | median execution time |"
echo "| --- | --- | --- | --- |"
for n in 3 30 300; do measure "$n" "with index"; done
psql -c "drop index IX_OrleansRemindersTable_GrainHash; analyze OrleansRemindersTable;"
for n in 3 30 300; do measure "$n" "without index"; done
