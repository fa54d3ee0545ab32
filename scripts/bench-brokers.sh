#!/usr/bin/env bash
# Broker baseline: how fast a plain librdkafka client (rdkafka, the worker's producer settings)
# produces and consumes N 100-byte records on Apache Kafka and on the embedded broker (tansu,
# sqlite), in the same run. Medians of RUNS runs. Prints a table and appends it to BENCHMARKS.md.
#
#   scripts/bench-brokers.sh [RECORDS] [RUNS]     defaults: 200000 3
set -euo pipefail
cd "$(dirname "$0")/.."
# Built binaries, wherever cargo puts them.
bin="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release"
records="${1:-200000}"
runs="${2:-3}"
kafka_port=29192
embedded_port=29292
rest_port=29293

cargo build --release -q -p tributary -p tributary-bench
scripts/kafka.sh fetch
kafka="$(scripts/kafka.sh start "$kafka_port")"
work="$(mktemp -d)"
cleanup() {
  [ -n "${worker_pid:-}" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  scripts/kafka.sh stop "$kafka_port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# A worker with no connectors, only to host the embedded broker.
cat > "$work/worker.properties" <<PROPS
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=$work/connect.offsets
listeners=http://127.0.0.1:$rest_port
embedded.broker.listener=127.0.0.1:$embedded_port
embedded.broker.data.dir=data
PROPS
(cd "$work" && exec "$bin/tributary" standalone worker.properties 2>"$work/worker.log") &
worker_pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$rest_port/" >/dev/null && break; sleep 0.1; done
embedded="127.0.0.1:$embedded_port"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { sed -n 's/.*records_per_sec=\([0-9]*\).*/\1/p'; }

measure() { # $1 = broker address, $2 = mode
  for i in $(seq 1 "$runs"); do
    local topic="bench-$2-$i-$$"
    if [ "$2" = consume ]; then
      "$bin"/raw-client produce "$1" "$topic" "$records" >/dev/null
    fi
    "$bin"/raw-client "$2" "$1" "$topic" "$records" | rate
  done | median
}

kp="$(measure "$kafka" produce)"; kc="$(measure "$kafka" consume)"
ep="$(measure "$embedded" produce)"; ec="$(measure "$embedded" consume)"
kafka_rss="$(ps -o rss= -p "$(cat ".kafka/run-$kafka_port/pid")" | awk '{printf "%.0f", $1/1024}')"
worker_rss="$(ps -o rss= -p "$worker_pid" | awk '{printf "%.0f", $1/1024}')"

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
table="$(cat <<TABLE
### Broker baseline, $(date -u +%Y-%m-%d) — $machine

$records × 100-byte records, librdkafka via rdkafka (acks=all, one request in flight, linger.ms=5), median of $runs runs.
Consume time starts at the first record (group join excluded).

| Broker | produce rec/s | consume rec/s | broker RSS after run |
|---|---|---|---|
| Apache Kafka 3.9.1 (KRaft, JVM, -Xmx512m) | $kp | $kc | ${kafka_rss} MB |
| embedded tansu 0.6.0 (sqlite), in the worker process | $ep | $ec | ${worker_rss} MB (whole worker) |
| ratio embedded / Kafka | $(awk "BEGIN {printf \"%.2f\", $ep/$kp}") | $(awk "BEGIN {printf \"%.2f\", $ec/$kc}") | |
TABLE
)"
echo "$table"
printf '\n%s\n' "$table" >> BENCHMARKS.md
