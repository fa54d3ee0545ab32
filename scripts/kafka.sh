#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft) for tests and benchmarks, from Maven Central.
#
#   scripts/kafka.sh fetch            download Kafka's jars into .kafka/libs (once)
#   scripts/kafka.sh fetch-connect    download Apache Kafka Connect's jars into .kafka/connect-libs
#   scripts/kafka.sh start [PORT]     format and start a broker on 127.0.0.1:PORT (default 9092, or
#                                     $KAFKA_PORT); prints the bootstrap address when it is ready
#   scripts/kafka.sh stop [PORT]      stop it and delete its data
#   scripts/kafka.sh status [PORT]    exit 0 and print the address if it is running
#
# .kafka/libs also holds kafka-tools, so tests can use the CLI classes directly, e.g.
#   java -cp '.kafka/libs/*' org.apache.kafka.tools.TopicCommand --bootstrap-server ... --create ...
#   java -cp '.kafka/libs/*' kafka.tools.ConsoleProducer / org.apache.kafka.tools.consumer.ConsoleConsumer
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
dir="$root/.kafka"
cmd="${1:-}"
port="${2:-${KAFKA_PORT:-9092}}"
run="$dir/run-$port"

# Broker: kafka_2.13 pulls its own modules (server, raft, storage, metadata...) at runtime scope.
# kafka-tools adds TopicCommand and ConsoleConsumer, which left kafka_2.13 in 3.x.
# slf4j-reload4j: Kafka 3.x logs through slf4j but ships no binding in its pom; without one the
# broker logs nothing at all and `start` could not see it become ready.
BROKER_ARTIFACTS=(kafka_2.13 kafka-tools)
CONNECT_ARTIFACTS=(connect-runtime connect-file connect-json connect-transforms)

# $1 = pom path, $2.. = org.apache.kafka artifactIds. The pom only exists so that
# `mvn dependency:copy-dependencies` can resolve them; nothing is built.
write_pom() {
  local pom="$1"; shift
  {
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo '<groupId>tributary</groupId><artifactId>kafka-fetch</artifactId><version>1</version><dependencies>'
    for a in "$@"; do
      echo "<dependency><groupId>org.apache.kafka</groupId><artifactId>$a</artifactId><version>$KAFKA_VERSION</version>"
      # kafka-tools drags in all of Connect's runtime (Jetty, Jersey) for tools we never run;
      # keep it off the broker's classpath.
      [ "$a" = kafka-tools ] && echo '<exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion><exclusion><groupId>com.fasterxml.jackson.jaxrs</groupId><artifactId>*</artifactId></exclusion></exclusions>'
      echo "</dependency>"
    done
    echo '<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>'
    echo '</dependencies></project>'
  } > "$pom"
}

# $1 = pom path, $2 = libs dir, $3.. = artifactIds. Skipped when the stamp records this exact
# version and artifact list. Downloads into a scratch dir and swaps it in, so an interrupted fetch
# never leaves a half-filled libs dir, and a version change never leaves two versions on the classpath.
fetch() {
  local pom="$1" libs="$2"; shift 2
  local want="$KAFKA_VERSION $*"
  if [ -f "$libs/.stamp" ] && [ "$(cat "$libs/.stamp")" = "$want" ]; then return 0; fi
  mkdir -p "$dir"
  write_pom "$pom" "$@"
  rm -rf "$libs.tmp"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$libs.tmp" >&2
  echo "$want" > "$libs.tmp/.stamp"
  rm -rf "$libs"
  mv "$libs.tmp" "$libs"
}
fetch_broker() { fetch "$dir/pom.xml" "$dir/libs" "${BROKER_ARTIFACTS[@]}"; }
fetch_connect() { fetch "$dir/pom-connect.xml" "$dir/connect-libs" "${CONNECT_ARTIFACTS[@]}"; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid file's process is alive and is our broker (not an unrelated process that reused the pid).
running() {
  [ -f "$run/pid" ] || return 1
  local pid cmdline; pid="$(cat "$run/pid")"
  cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
  [[ "$cmdline" == *"$run/server.properties"* ]]
}

stop() {
  if running; then
    local pid; pid="$(cat "$run/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -rf "$run"
}

start() {
  fetch_broker
  if running; then echo "127.0.0.1:$port"; return 0; fi
  local controller=$((port + 1000))
  for p in "$port" "$controller"; do
    if listening "$p"; then echo "port $p is already in use; cannot start Kafka on $port" >&2; return 1; fi
  done
  rm -rf "$run"; mkdir -p "$run/data"
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
auto.create.topics.enable=false
offsets.topic.replication.factor=1
# 5 instead of 50 __consumer_offsets partitions: the first consumer group comes up much faster.
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat > "$run/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$run/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
  local cp="$dir/libs/*"
  local jopts=(-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$run/log4j.properties")
  local id
  id="$(java "${jopts[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid 2>"$run/format.log" | tail -n 1)"
  if ! java "${jopts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$id" -c "$run/server.properties" \
      >>"$run/format.log" 2>&1; then
    echo "formatting Kafka's storage failed:" >&2; cat "$run/format.log" >&2; return 1
  fi
  # </dev/null and its own log files: the broker must hold none of the caller's fds, or a caller
  # reading our stdout through $(...) or a pipe would wait for the broker to exit.
  nohup java "${jopts[@]}" -cp "$cp" kafka.Kafka "$run/server.properties" \
    </dev/null >"$run/stdout.log" 2>&1 &
  echo $! > "$run/pid"
  # Ready = the server logged that it started (the port alone opens before the broker has
  # registered with the controller and can serve metadata) and the port accepts connections.
  # (kill -0, not running(): for a moment the child is still a forked bash, not yet java.)
  local pid deadline=$((SECONDS + 60))
  pid="$(cat "$run/pid")"
  while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
    if grep -q "Kafka Server started" "$run/server.log" 2>/dev/null && listening "$port"; then
      echo "127.0.0.1:$port"; return 0
    fi
    sleep 0.1
  done
  echo "Kafka did not start on port $port; last lines of its logs:" >&2
  tail -n 40 "$run/stdout.log" "$run/server.log" >&2 2>/dev/null || true
  stop  # leave no half-started broker behind to confuse the next start
  return 1
}

case "$cmd" in
  fetch) fetch_broker ;;
  fetch-connect) fetch_connect ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running: 127.0.0.1:$port (pid $(cat "$run/pid"))"; else echo "stopped"; exit 1; fi ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
