#!/usr/bin/env bash
# The worker benchmark: Tributary against Apache Kafka Connect 3.9.1 (the JVM worker, from Maven
# Central) and a raw rdkafka client, in the same run, against the same Apache Kafka broker.
# Records are counted at the destination; throughput figures are medians of RUNS runs, and of
# RUNS + 2 pairs for Tributary beside the raw client when RUNS is 3 or more (its runs take about
# a second each; the pairs' spread is what the medians must get past).
#
#   scripts/bench.sh [RECORDS] [RUNS]      defaults: 500000 3 (about 9 minutes on 2 cores)
#
# BENCH_PROFILE (default release) is the cargo profile to build and run; CI's smoke uses dev,
# the build its tests already made. BENCH_BOOTSTRAP runs against that broker in place of one
# started here.
#
# Prints a table and appends it, with the machine's description, to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# Built binaries, wherever cargo puts them.
profile="${BENCH_PROFILE:-release}"
bin="$(realpath -m "${CARGO_TARGET_DIR:-target}")/$([ "$profile" = dev ] && echo debug || echo "$profile")"
records="${1:-500000}"
runs="${2:-3}"
pairs=$(( runs >= 3 ? runs + 2 : runs ))
kafka_port=29492
trib_port=29503
java_port=29504
clk="$(getconf CLK_TCK)"

cargo build --profile "$profile" -q -p tributary -p tributary-bench
scripts/kafka.sh fetch
scripts/kafka.sh fetch-connect
if [ -n "${BENCH_BOOTSTRAP:-}" ]; then
  kafka="$BENCH_BOOTSTRAP"
  kafka_port=""
else
  kafka="$(scripts/kafka.sh start "$kafka_port")"
fi
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$kafka_port" ]; then scripts/kafka.sh stop "$kafka_port" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

input="$work/input.txt"
awk -v n="$records" 'BEGIN { pad = sprintf("%86s", ""); gsub(/ /, "x", pad); for (i = 0; i < n; i++) printf "line %08d %s\n", i, pad }' > "$input"

worker_props() { # $1 = REST port, $2 = offsets file
  cat <<PROPS
bootstrap.servers=$kafka
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=$2
offset.flush.interval.ms=10000
listeners=http://127.0.0.1:$1
PROPS
}

now_ms() { date +%s%3N; }
rest_up() { curl -sf "http://127.0.0.1:$1/" >/dev/null 2>&1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
post() { curl -sf -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$1/connectors" -d "$2" >/dev/null; }
delete() { curl -sf -X DELETE "http://127.0.0.1:$1/connectors/$2" >/dev/null || true; }

give_up_after() { # $1 = deadline (ms), $2 = what did not happen
  if [ "$(now_ms)" -gt "$1" ]; then echo "bench: $2 in time" >&2; exit 1; fi
}

start_worker() { # $1 = engine (tributary|java), $2 = REST port; sets worker_pid, startup_ms
  local props="$work/$1.properties"
  worker_props "$2" "$work/$1.offsets" > "$props"
  local t0; t0="$(now_ms)"
  if [ "$1" = tributary ]; then
    TRIBUTARY_LOG=warn "$bin"/tributary standalone "$props" 2>"$work/$1.log" &
  else
    printf 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=%%p %%m%%n\n' > "$work/log4j.properties"
    java -Xms256m -Xmx1g "-Dlog4j.configuration=file:$work/log4j.properties" -cp ".kafka/connect-libs/*" \
      org.apache.kafka.connect.cli.ConnectStandalone "$props" 2>"$work/$1.log" &
  fi
  worker_pid=$!
  pids+=("$worker_pid")
  local deadline=$(( $(now_ms) + 180000 ))
  until rest_up "$2"; do
    # A worker that exits (a port taken, a bad config) or never answers ends the benchmark.
    if ! kill -0 "$worker_pid" 2>/dev/null || [ "$(now_ms)" -gt "$deadline" ]; then
      echo "bench: the $1 worker did not start answering on port $2; its log:" >&2
      tail -n 30 "$work/$1.log" >&2
      exit 1
    fi
    sleep 0.005
  done
  startup_ms=$(( $(now_ms) - t0 ))
}

# One source run: file → topic; prints "records_per_sec cpu_seconds_per_million".
source_run() { # $1 = REST port, $2 = pid, $3 = value converter class, $4 = run id
  local topic="bench-src-$4-$$" name="src-$4"
  local c0; c0="$(cpu_ticks "$2")"
  post "$1" "{\"name\":\"$name\",\"config\":{\"connector.class\":\"org.apache.kafka.connect.file.FileStreamSourceConnector\",\"file\":\"$input\",\"topic\":\"$topic\",\"value.converter\":\"$3\",\"topic.creation.default.partitions\":\"1\",\"topic.creation.default.replication.factor\":\"1\"}}"
  local out; out="$("$bin"/raw-client wait "$kafka" "$topic" "$records")"
  local c1; c1="$(cpu_ticks "$2")"
  delete "$1" "$name"
  local first done; first="$(echo "$out" | sed -n 's/.*first_ms=\([0-9]*\).*/\1/p')"; done="$(echo "$out" | sed -n 's/.*done_ms=\([0-9]*\).*/\1/p')"
  awk -v n="$records" -v f="$first" -v d="$done" -v c=$((c1 - c0)) -v clk="$clk" 'BEGIN { ms = d - f; if (ms < 1) ms = 1; printf "%.0f %.2f\n", n * 1000 / ms, c / clk * 1000000 / n }'
  echo "$topic" > "$work/last-topic"
}

# Waits until file $1 holds $2 bytes; prints "first_ms done_ms": when it first had data and when
# it was complete. The worker sinks and the raw consumer are timed the same way, by file size
# (cheap to poll, unlike counting lines).
wait_file() { # $1 = file, $2 = bytes, $3 = what
  local limit=$(( $(now_ms) + 300000 ))
  until [ -s "$1" ]; do give_up_after "$limit" "$3 wrote nothing"; sleep 0.005; done
  local t0; t0="$(now_ms)"
  until [ "$(stat -c %s "$1")" -ge "$2" ]; do give_up_after "$limit" "$3 did not write $2 bytes"; sleep 0.005; done
  echo "$t0 $(now_ms)"
}

# One sink run: topic → file; prints "records_per_sec cpu_seconds_per_million".
sink_run() { # $1 = REST port, $2 = pid, $3 = topic, $4 = run id
  local out="$work/sink-$4.txt" name="sink-$4"
  local c0; c0="$(cpu_ticks "$2")"
  post "$1" "{\"name\":\"$name\",\"config\":{\"connector.class\":\"org.apache.kafka.connect.file.FileStreamSinkConnector\",\"file\":\"$out\",\"topics\":\"$3\"}}"
  local t0 t1
  read -r t0 t1 < <(wait_file "$out" $((records * 101)) "sink $name")
  local c1; c1="$(cpu_ticks "$2")"
  delete "$1" "$name"
  rm -f "$out"
  awk -v n="$records" -v ms=$((t1 - t0)) -v c=$((c1 - c0)) -v clk="$clk" 'BEGIN { if (ms < 1) ms = 1; printf "%.0f %.2f\n", n * 1000 / ms, c / clk * 1000000 / n }'
}

# Failover: three distributed workers with six file source connectors; one worker is SIGKILLed
# and the time until every connector and task is RUNNING on a survivor is printed (ms). Apache
# Kafka Connect runs with scheduled.rebalance.max.delay.ms=0: with its default (300000) it holds
# a vanished worker's work for five minutes by design. Tributary runs with its defaults.
running_without() { # $1 = REST port to ask, $2 = worker id that must run nothing, $3 = group
  local i s
  for i in 1 2 3 4 5 6; do
    s="$(curl -sf "http://127.0.0.1:$1/connectors/fo-$3-$i/status")" || return 1
    echo "$s" | jq -e --arg w "$2" '.connector.state == "RUNNING" and .connector.worker_id != $w and (.tasks | length) == 1
      and .tasks[0].state == "RUNNING" and .tasks[0].worker_id != $w' >/dev/null || return 1
  done
}

failover_run() { # $1 = engine, $2 = run id; runs in a subshell, so it cleans up after itself
  local group="fo$2$$" ports=(29505 29506 29507) p i
  # Not local: the EXIT trap runs after the function's locals are gone.
  wpids=()
  trap 'kill -9 "${wpids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
  for p in "${ports[@]}"; do
    cat > "$work/fo-$p.properties" <<PROPS
bootstrap.servers=$kafka
group.id=$group
config.storage.topic=$group-configs
offset.storage.topic=$group-offsets
status.storage.topic=$group-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
listeners=http://127.0.0.1:$p
rest.advertised.host.name=127.0.0.1
PROPS
    if [ "$1" = tributary ]; then
      TRIBUTARY_LOG=warn "$bin"/tributary distributed "$work/fo-$p.properties" >>"$work/fo-$1.log" 2>&1 &
    else
      echo "scheduled.rebalance.max.delay.ms=0" >> "$work/fo-$p.properties"
      java -Xms128m -Xmx512m "-Dlog4j.configuration=file:$work/log4j.properties" -cp ".kafka/connect-libs/*" \
        org.apache.kafka.connect.cli.ConnectDistributed "$work/fo-$p.properties" >>"$work/fo-$1.log" 2>&1 &
    fi
    wpids+=("$!"); pids+=("$!")
  done
  local limit=$(( $(now_ms) + 240000 ))
  for i in 1 2 3 4 5 6; do
    printf 'a\nb\n' > "$work/fo-$i.txt"
    # Writes are refused (409) until the group has formed; any worker forwards to the leader.
    # PUT creates or updates, so a retry after a reply that was lost is harmless.
    until curl -sf -X PUT -H 'Content-Type: application/json' "http://127.0.0.1:${ports[$((i % 3))]}/connectors/fo-$group-$i/config" \
      -d "{\"connector.class\":\"FileStreamSource\",\"file\":\"$work/fo-$i.txt\",\"topic\":\"fo-$group-$i\",\"topic.creation.default.partitions\":\"1\",\"topic.creation.default.replication.factor\":\"1\"}" >/dev/null; do
      give_up_after "$limit" "the $1 cluster did not accept connectors"; sleep 0.2
    done
  done
  until running_without "${ports[0]}" none "$group"; do give_up_after "$limit" "the $1 connectors were not RUNNING"; sleep 0.2; done
  sleep 2
  local t0; t0="$(now_ms)"
  kill -9 "${wpids[2]}"
  until running_without "${ports[0]}" "127.0.0.1:${ports[2]}" "$group"; do give_up_after "$limit" "the $1 cluster did not fail over"; sleep 0.05; done
  echo $(( $(now_ms) - t0 ))
  kill -9 "${wpids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}

# The raw client's CPU per million, from creating its client to the end (it reports it).
raw_cpu() { sed -n 's/.*cpu_ticks=\([0-9]*\).*/\1/p' | awk -v n="$records" -v clk="$clk" '{printf "%.2f\n", $1 / clk * 1000000 / n}'; }

# One raw producer run, sending the lines of the sources' input file; prints "records_per_sec
# cpu_seconds_per_million". Timed from outside, from the first to the last record in the topic,
# as the worker sources are.
# $2 = produce (rdkafka's send, line by line) or produce-batch (librdkafka's batch call, as the
# worker sends records without headers or timestamps of their own).
raw_produce_run() { # $1 = topic, $2 = mode
  "$bin"/raw-client wait "$kafka" "$1" "$records" > "$work/raw-wait.out" &
  local waiter_pid=$!
  local out; out="$("$bin"/raw-client "$2" "$kafka" "$1" "$records" "$input")"
  wait "$waiter_pid"
  local first done; first="$(sed -n 's/.*first_ms=\([0-9]*\).*/\1/p' "$work/raw-wait.out")"; done="$(sed -n 's/.*done_ms=\([0-9]*\).*/\1/p' "$work/raw-wait.out")"
  echo "$(awk -v n="$records" -v f="$first" -v d="$done" 'BEGIN { ms = d - f; if (ms < 1) ms = 1; printf "%.0f\n", n * 1000 / ms }') $(echo "$out" | raw_cpu)"
}

# One raw consumer run of topic $1, timed from outside by the size of the file it writes,
# exactly as the worker sinks are; prints "records_per_sec cpu_seconds_per_million".
raw_consume_run() { # $1 = topic
  rm -f "$work/raw-sink.txt"
  "$bin"/raw-client consume "$kafka" "$1" "$records" "$work/raw-sink.txt" > "$work/raw-consume.out" &
  local consumer_pid=$! t0 t1
  read -r t0 t1 < <(wait_file "$work/raw-sink.txt" $((records * 101)) "the raw consumer")
  wait "$consumer_pid"
  rm -f "$work/raw-sink.txt"
  echo "$(awk -v n="$records" -v ms=$((t1 - t0)) 'BEGIN { if (ms < 1) ms = 1; printf "%.0f\n", n * 1000 / ms }') $(raw_cpu < "$work/raw-consume.out")"
}

declare -A result
measure_engine() { # $1 = engine, $2 = REST port
  start_worker "$1" "$2"
  result[$1,startup]="$startup_ms"
  sleep 2
  result[$1,idle_rss]="$(rss_mb "$worker_pid")"
  local s j k rp rb rc; s=(); j=(); k=(); rp=(); rb=(); rc=()
  local n="$runs"; if [ "$1" = tributary ]; then n="$pairs"; fi
  for i in $(seq 1 "$n"); do
    # For Tributary, each run sits next to a raw client run: the machines are shared and their
    # speed drifts over minutes, so a ratio is taken within a pair, not across phases.
    if [ "$1" = tributary ]; then
      rp+=("$(raw_produce_run "bench-raw-$i-$$" produce)")
      rb+=("$(raw_produce_run "bench-rawb-$i-$$" produce-batch)")
    fi
    s+=("$(source_run "$2" "$worker_pid" org.apache.kafka.connect.storage.StringConverter "$1-s$i")")
    if [ "$1" = tributary ]; then rc+=("$(raw_consume_run "bench-raw-$i-$$")"); fi
    k+=("$(sink_run "$2" "$worker_pid" "$(cat "$work/last-topic")" "$1-k$i")")
    j+=("$(source_run "$2" "$worker_pid" org.apache.kafka.connect.json.JsonConverter "$1-j$i")")
  done
  if [ "$1" = tributary ]; then
    raw_p="$(printf '%s\n' "${rp[@]}" | awk '{print $1}' | median)"
    raw_p_cpu="$(printf '%s\n' "${rp[@]}" | awk '{print $2}' | median)"
    raw_b="$(printf '%s\n' "${rb[@]}" | awk '{print $1}' | median)"
    raw_b_cpu="$(printf '%s\n' "${rb[@]}" | awk '{print $2}' | median)"
    src_vs_rawb="$(paste <(printf '%s\n' "${s[@]}") <(printf '%s\n' "${rb[@]}") | awk '{printf "%.4f\n", $1 / $3}' | median)"
    src_cpu_vs_rawb="$(paste <(printf '%s\n' "${s[@]}") <(printf '%s\n' "${rb[@]}") | awk '{printf "%.4f\n", ($4 > 0 ? $2 / $4 : 0)}' | median)"
    srcb_pairs="$(paste <(printf '%s\n' "${s[@]}") <(printf '%s\n' "${rb[@]}") | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $3}')"
    srcb_cpu_pairs="$(paste <(printf '%s\n' "${s[@]}") <(printf '%s\n' "${rb[@]}") | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), ($4 > 0 ? $2 / $4 : 0)}')"
    raw_c="$(printf '%s\n' "${rc[@]}" | awk '{print $1}' | median)"
    raw_c_cpu="$(printf '%s\n' "${rc[@]}" | awk '{print $2}' | median)"
    # Median of the per-pair ratios.
    src_vs_raw="$(paste <(printf '%s\n' "${s[@]}") <(printf '%s\n' "${rp[@]}") | awk '{printf "%.4f\n", $1 / $3}' | median)"
    sink_vs_raw="$(paste <(printf '%s\n' "${k[@]}") <(printf '%s\n' "${rc[@]}") | awk '{printf "%.4f\n", $1 / $3}' | median)"
    # Every pair's ratio, in run order, for the spread behind the medians.
    src_pairs="$(paste <(printf '%s\n' "${s[@]}") <(printf '%s\n' "${rp[@]}") | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $3}')"
    sink_pairs="$(paste <(printf '%s\n' "${k[@]}") <(printf '%s\n' "${rc[@]}") | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $3}')"
    # CPU per record, worker over raw client, pair by pair: the overhead of the worker with the
    # machine's drift (which moves both) divided out.
    src_cpu_vs_raw="$(paste <(printf '%s\n' "${s[@]}") <(printf '%s\n' "${rp[@]}") | awk '{printf "%.4f\n", ($4 > 0 ? $2 / $4 : 0)}' | median)"
    sink_cpu_vs_raw="$(paste <(printf '%s\n' "${k[@]}") <(printf '%s\n' "${rc[@]}") | awk '{printf "%.4f\n", ($4 > 0 ? $2 / $4 : 0)}' | median)"
    src_cpu_pairs="$(paste <(printf '%s\n' "${s[@]}") <(printf '%s\n' "${rp[@]}") | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), ($4 > 0 ? $2 / $4 : 0)}')"
    sink_cpu_pairs="$(paste <(printf '%s\n' "${k[@]}") <(printf '%s\n' "${rc[@]}") | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), ($4 > 0 ? $2 / $4 : 0)}')"
  fi
  result[$1,src]="$(printf '%s\n' "${s[@]}" | awk '{print $1}' | median)"
  result[$1,src_cpu]="$(printf '%s\n' "${s[@]}" | awk '{print $2}' | median)"
  result[$1,json]="$(printf '%s\n' "${j[@]}" | awk '{print $1}' | median)"
  result[$1,json_cpu]="$(printf '%s\n' "${j[@]}" | awk '{print $2}' | median)"
  result[$1,sink]="$(printf '%s\n' "${k[@]}" | awk '{print $1}' | median)"
  result[$1,sink_cpu]="$(printf '%s\n' "${k[@]}" | awk '{print $2}' | median)"
  # 100 running file source connectors, each on a small file, on a freshly started worker: the
  # throughput runs above leave heap behind (both engines), which is not what this measures.
  kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
  start_worker "$1" "$2"
  for i in $(seq 1 100); do
    printf 'a\nb\n' > "$work/small-$1-$i.txt"
    post "$2" "{\"name\":\"mem-$i\",\"config\":{\"connector.class\":\"FileStreamSource\",\"file\":\"$work/small-$1-$i.txt\",\"topic\":\"bench-mem-$1-$$\",\"topic.creation.default.partitions\":\"1\",\"topic.creation.default.replication.factor\":\"1\"}}"
  done
  sleep 5
  result[$1,rss100]="$(rss_mb "$worker_pid")"
  kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
  local f=()
  for i in $(seq 1 "$runs"); do f+=("$(failover_run "$1" "$i")"); done
  result[$1,failover]="$(printf '%s\n' "${f[@]}" | median)"
}

# The broker's JIT compiles its hot paths under the first load: an untimed produce and consume
# first, so the first measured runs do not meet a cold broker (the raw producer's first runs were
# up to half as fast and twice as costly per record without it).
"$bin"/raw-client produce "$kafka" "bench-warmup-$$" "$records" >/dev/null
"$bin"/raw-client consume "$kafka" "bench-warmup-$$" "$records" >/dev/null
measure_engine tributary "$trib_port"
measure_engine java "$java_port"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
t=tributary; j=java
table="$(cat <<TABLE
### Worker benchmark, $(date -u +%Y-%m-%d) — $machine

$records × 100-byte lines, Apache Kafka 3.9.1 broker (KRaft), median of $runs runs (Tributary: $pairs); throughput from the
first to the last record at the destination; CPU = user+sys of the worker process during the run.
Each Tributary run is paired with a raw client run just before it; "Tributary / raw" is the
median of the per-pair ratios (in the CPU rows, of CPU per record: lower is better). The raw
producer sends the input file's lines, read as the file source reads them, through rdkafka's
\`send\`; a second raw producer run in each pair sends them through librdkafka's batch call, as
the worker does (its rows: "raw, batch call"). The raw consumer writes the lines to a file, as
the file sink does.

| Scenario | Tributary | Apache Kafka Connect 3.9.1 | raw rdkafka client | Tributary / Connect | Tributary / raw |
|---|---|---|---|---|---|
| file → topic, StringConverter (rec/s) | ${result[$t,src]} | ${result[$j,src]} | $raw_p | $(ratio "${result[$t,src]}" "${result[$j,src]}") | $(printf '%.2f' "$src_vs_raw") |
| file → topic, raw, batch call (rec/s) | | | $raw_b | | $(printf '%.2f' "$src_vs_rawb") |
| file → topic, JsonConverter (rec/s) | ${result[$t,json]} | ${result[$j,json]} | | $(ratio "${result[$t,json]}" "${result[$j,json]}") | |
| topic → file (rec/s) | ${result[$t,sink]} | ${result[$j,sink]} | $raw_c | $(ratio "${result[$t,sink]}" "${result[$j,sink]}") | $(printf '%.2f' "$sink_vs_raw") |
| CPU s per million, file → topic (String) | ${result[$t,src_cpu]} | ${result[$j,src_cpu]} | $raw_p_cpu | | $(printf '%.2f' "$src_cpu_vs_raw") |
| CPU s per million, file → topic, raw, batch call | | | $raw_b_cpu | | $(printf '%.2f' "$src_cpu_vs_rawb") |
| CPU s per million, file → topic (Json) | ${result[$t,json_cpu]} | ${result[$j,json_cpu]} | | | |
| CPU s per million, topic → file | ${result[$t,sink_cpu]} | ${result[$j,sink_cpu]} | $raw_c_cpu | | $(printf '%.2f' "$sink_cpu_vs_raw") |
| idle RSS (MB) | ${result[$t,idle_rss]} | ${result[$j,idle_rss]} | | | |
| RSS with 100 file connectors (MB) | ${result[$t,rss100]} | ${result[$j,rss100]} | | | |
| start-up to REST answering (ms) | ${result[$t,startup]} | ${result[$j,startup]} | | | |
| failover: SIGKILL 1 of 3 workers → its work RUNNING elsewhere (ms) | ${result[$t,failover]} | ${result[$j,failover]} ¹ | | $(ratio "${result[$t,failover]}" "${result[$j,failover]}") | |

¹ Apache Kafka Connect with \`scheduled.rebalance.max.delay.ms=0\`; with its default (300000) it waits five minutes before moving a vanished worker's work.

Tributary / raw, pair by pair: file → topic $src_pairs; topic → file $sink_pairs.
CPU per record, Tributary / raw, pair by pair: file → topic $src_cpu_pairs; topic → file $sink_cpu_pairs.
Against the raw batch call, pair by pair: file → topic $srcb_pairs; CPU per record $srcb_cpu_pairs.
TABLE
)"
echo "$table"
printf '\n%s\n' "$table" >> BENCHMARKS.md
