#!/usr/bin/env bash
# A local Stepcast cluster on loopback: a throwaway PostgreSQL 15, the schema, N silos and the API as an
# Orleans client. Everything lives under .tmp/local-cluster (logs, data, pids).
#
#   deploy/local/cluster.sh start [silos]   # default 3 silos; API on http://127.0.0.1:5081
#   deploy/local/cluster.sh status
#   deploy/local/cluster.sh stop
#
# Settings (environment): STEPCAST_PG_PORT (55432), STEPCAST_API_URL (http://127.0.0.1:5081),
# STEPCAST_LOCAL_CHANNEL (local) and STEPCAST_LOCAL_SECRET (local-channel-secret) for the channel the silos register.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$root/.tmp/local-cluster
pg_bin=/usr/lib/postgresql/15/bin
pg_port=${STEPCAST_PG_PORT:-55432}
api_url=${STEPCAST_API_URL:-http://127.0.0.1:5081}
channel=${STEPCAST_LOCAL_CHANNEL:-local}
secret=${STEPCAST_LOCAL_SECRET:-local-channel-secret}
connection="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=stepcast"

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  local silos=${1:-3}
  mkdir -p "$dir/logs"
  echo "== building"
  dotnet build "$root/src/Api" -c Release -v q -nologo >/dev/null

  if [ ! -d "$dir/pg/data" ]; then
    echo "== creating PostgreSQL in $dir/pg"
    mkdir -p "$dir/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
    as_postgres "$pg_bin/initdb" -D "$dir/pg/data" -U postgres --auth=trust >/dev/null
  fi
  as_postgres "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w \
    -o "-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1" start >/dev/null
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -tc "select 1 from pg_database where datname='stepcast'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "create database stepcast"

  export ConnectionStrings__Stepcast=$connection Stepcast__Topology=Cluster
  export Stepcast__Channels__0__ChannelId=$channel Stepcast__Channels__0__ChannelSecret=$secret
  echo "== applying the schema"
  dotnet "$root/src/Silo/bin/Release/net10.0/Stepcast.Silo.dll" migrate

  for i in $(seq 1 "$silos"); do
    echo "== starting silo$i (silo port $((11110 + i)), gateway $((30000 + i)), probes and metrics on http://127.0.0.1:$((8080 + i)))"
    Stepcast__Cluster__SiloPort=$((11110 + i)) Stepcast__Cluster__GatewayPort=$((30000 + i)) Stepcast__Cluster__SiloName=silo$i \
    Urls=http://127.0.0.1:$((8080 + i)) Stepcast__Dashboard__Enabled=true \
    Stepcast__Sandbox__ScenarioFolder="$root/samples/scenarios" \
      nohup dotnet "$root/src/Silo/bin/Release/net10.0/Stepcast.Silo.dll" >"$dir/logs/silo$i.log" 2>&1 &
    echo $! >>"$dir/pids"
  done

  echo "== starting the API on $api_url"
  Urls=$api_url nohup dotnet "$root/src/Api/bin/Release/net10.0/Stepcast.Api.dll" >"$dir/logs/api.log" 2>&1 &
  echo $! >>"$dir/pids"
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null "$api_url/webhooks/line/$channel" -X POST -d '{}'; then break; fi
    sleep 1
  done
  echo "== up: silos and API logs in $dir/logs; membership:"
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -d stepcast -c "select siloname, status, port, proxyport from orleansmembershiptable order by siloname"
  cat <<TXT
Send a signed follow webhook for channel '$channel' (secret '$secret'):
  body='{"destination":"Ubot","events":[{"type":"follow","mode":"active","timestamp":'\$(date +%s000)',"source":{"type":"user","userId":"U0003"},"webhookEventId":"01JLOCALFOLLOW000000000001","deliveryContext":{"isRedelivery":false},"replyToken":"r","follow":{"isUnblocked":false}}]}'
  curl -i -X POST $api_url/webhooks/line/$channel -H 'content-type: application/json' \\
       -H "x-line-signature: \$(printf '%s' "\$body" | openssl dgst -sha256 -hmac $secret -binary | base64)" -d "\$body"
TXT
}

stop() {
  if [ -f "$dir/pids" ]; then
    xargs -r kill <"$dir/pids" 2>/dev/null || true
    rm -f "$dir/pids"
  fi
  [ -d "$dir/pg/data" ] && as_postgres "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast stop >/dev/null 2>&1 || true
  echo "stopped (data kept in $dir; delete it for a clean start)"
}

status() {
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -d stepcast -c "select siloname, status, port, proxyport, iamalivetime from orleansmembershiptable order by siloname"
}

case "${1:-}" in
  start) start "${2:-3}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [silos] | status | stop" >&2; exit 2 ;;
esac
