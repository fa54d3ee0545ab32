#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft) for tests and benchmarks, from Maven Central.
#
#   scripts/kafka.sh fetch            download Kafka's jars into .kafka/libs (once)
#   scripts/kafka.sh fetch-connect    download Apache Kafka Connect's jars into .kafka/connect-libs
#   scripts/kafka.sh start [PORT]     format and start a broker on 127.0.0.1:PORT (default 9092);
#                                     prints the bootstrap address when it is ready
#   scripts/kafka.sh stop [PORT]      stop it and delete its data
#   scripts/kafka.sh status [PORT]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
dir="$root/.kafka"
cmd="${1:-}"
port="${2:-${KAFKA_PORT:-9092}}"
run="$dir/run-$port"

# A pom whose only job is to let `mvn dependency:copy-dependencies` resolve the artifacts.
write_pom() { # $1 = pom path, $2.. = artifactIds
  local pom="$1"; shift
  {
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo '<groupId>tributary</groupId><artifactId>kafka-fetch</artifactId><version>1</version><dependencies>'
    for a in "$@"; do
      echo "<dependency><groupId>org.apache.kafka</groupId><artifactId>$a</artifactId><version>$KAFKA_VERSION</version></dependency>"
    done
    # Kafka 3.x logs through slf4j to log4j 1 (reload4j); without a binding it logs nothing.
    echo '<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>'
    echo '</dependencies></project>'
  } > "$pom"
}

fetch() { # $1 = libs dir name, $2.. = artifactIds
  local libs="$dir/$1"; shift
  local stamp="$libs/.version-$KAFKA_VERSION"
  [ -f "$stamp" ] && return 0
  mkdir -p "$libs"
  write_pom "$dir/pom-$(basename "$libs").xml" "$@"
  mvn -q -B -f "$dir/pom-$(basename "$libs").xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime >&2
  touch "$stamp"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  fetch libs kafka_2.13 kafka-server-common kafka-storage kafka-raft kafka-metadata
  if [ -f "$run/pid" ] && kill -0 "$(cat "$run/pid")" 2>/dev/null; then
    echo "127.0.0.1:$port"; return 0
  fi
  rm -rf "$run"; mkdir -p "$run/data"
  local controller=$((port + 1000))
  cat > "$run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$run/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cat > "$run/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$run/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
  local cp="$dir/libs/*"
  local jopts=(-Xms256m -Xmx512m -XX:+UseG1GC "-Dlog4j.configuration=file:$run/log4j.properties")
  local id
  id="$(java "${jopts[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
  java "${jopts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$id" -c "$run/server.properties" >"$run/format.log" 2>&1
  nohup java "${jopts[@]}" -cp "$cp" kafka.Kafka "$run/server.properties" >"$run/stdout.log" 2>&1 &
  echo $! > "$run/pid"
  for _ in $(seq 1 600); do
    if grep -q "Kafka Server started\|KafkaRaftServer.*started" "$run/server.log" 2>/dev/null && listening "$port"; then
      echo "127.0.0.1:$port"; return 0
    fi
    if ! kill -0 "$(cat "$run/pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "Kafka did not start on port $port; last lines of its logs:" >&2
  tail -n 40 "$run/stdout.log" "$run/server.log" >&2 2>/dev/null || true
  return 1
}

stop() {
  if [ -f "$run/pid" ]; then
    local pid; pid="$(cat "$run/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$run"
}

case "$cmd" in
  fetch) fetch libs kafka_2.13 kafka-server-common kafka-storage kafka-raft kafka-metadata ;;
  fetch-connect) fetch connect-libs connect-runtime connect-file connect-json connect-transforms ;;
  start) start ;;
  stop) stop ;;
  status) if [ -f "$run/pid" ] && kill -0 "$(cat "$run/pid")" 2>/dev/null; then echo "running: 127.0.0.1:$port"; else echo "stopped"; exit 1; fi ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
