#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft) for tests and benchmarks, from Maven Central.
#
#   scripts/kafka.sh fetch            download Kafka's jars into .kafka/libs (once)
#   scripts/kafka.sh fetch-connect    download Apache Kafka Connect's jars into .kafka/connect-libs
#   scripts/kafka.sh start [PORT]     format and start a broker on 127.0.0.1:PORT (default 9092, or
#                                     $KAFKA_PORT); prints the bootstrap address when it is ready
#   scripts/kafka.sh stop [PORT]      stop it and delete its data
#   scripts/kafka.sh status [PORT]    exit 0 and print the address if it is running
#   scripts/kafka.sh security-env [PORT]  print the secured listeners as KEY=value lines:
#                                     TRIBUTARY_TEST_SASL_PLAINTEXT, TRIBUTARY_TEST_SSL,
#                                     TRIBUTARY_TEST_SASL_SSL (host:port), TRIBUTARY_TEST_SECURITY_DIR
#
# Besides PLAINTEXT on PORT (ANONYMOUS, a super user, no ACLs apply) the broker listens on
#   PORT+1 SASL_PLAINTEXT, PORT+2 SSL (client cert required; CN = user), PORT+3 SASL_SSL,
# SASL mechanisms PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (and OAUTHBEARER on SASL_PLAINTEXT: tokens
# signed with oauth-signing.key, RS256, kid tributary-test, checked against jwks.json); users admin
# (super user), alice, mallory, password <user>-secret. StandardAuthorizer: all is open to all,
# except that mallory may do nothing on topics and groups named denied* (nor create them: CREATE on
# the cluster is denied her too).
# The controller is on PORT+1000. PKI made fresh by each start in $TRIBUTARY_TEST_SECURITY_DIR:
#   ca.pem ca.key, broker-keystore.pem (key + chain; SAN IP:127.0.0.1, DNS:localhost),
#   client-alice.pem (cert CN=alice) client-alice.key (PKCS#8) client-alice-encrypted.key (PKCS#8
#   PBES2/AES-256, `keypass`; Kafka on Java 17 cannot read PBES2: "PBES2 SecretKeyFactory not
#   available") client-alice-encrypted-3des.key (PKCS#8 PBE-SHA1-3DES, `keypass`, which it can),
#   client-alice.p12 (`storepass`) client-alice.jks (store `storepass`, key `keypass`),
#   truststore.jks truststore.p12 (`storepass`), rogue-ca.pem rogue-truststore.jks (unknown CA).
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

# Runs main classes one after another in one JVM (a JVM start-up each would cost more than the work).
# Arguments: groups separated by `--`, each a class and its arguments. Compiled once into .kafka/tools.
MAINS_JAVA='public class Mains {
  public static void main(String[] args) throws Exception {
    java.util.List<String> group = new java.util.ArrayList<>();
    for (int i = 0; i <= args.length; i++) {
      if (i < args.length && !args[i].equals("--")) { group.add(args[i]); continue; }
      if (group.isEmpty()) continue;
      Class.forName(group.get(0)).getMethod("main", String[].class)
        .invoke(null, (Object) group.subList(1, group.size()).toArray(new String[0]));
      group.clear();
    }
    System.exit(0);
  }
}'
mains_classpath() {
  local t="$dir/tools"
  if [ ! -f "$t/Mains.class" ] || [ "$(cat "$t/Mains.java" 2>/dev/null)" != "$MAINS_JAVA" ]; then
    mkdir -p "$t"; local tmp; tmp="$(mktemp -d "$t/build.XXXXXX")"
    printf '%s\n' "$MAINS_JAVA" > "$tmp/Mains.java"
    javac -d "$tmp" "$tmp/Mains.java" && mv -f "$tmp/Mains.class" "$tmp/Mains.java" "$t/"
    rm -rf "$tmp"
  fi
  echo "$t"
}

# Test PKI for the secured listeners, made fresh by each start into $1 (file names in the header).
# The CAs and the broker get EC P-256 keys (instant); alice gets RSA 2048, the key type every client
# library reads from every store. What the broker needs is made here; alice's material and keytool's
# stores are made in the background while the broker starts, and start waits for them (wait_pki)
# before it reports the broker ready.
pki_jobs=()
make_pki() {
  local s="$1"
  mkdir -p "$s"
  cat > "$s/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  cd "$s" || return 1
  # $1 = name, $2 = subject, $3 = extensions section, $4 = key (rsa / ec), $5 = signing CA (none:
  # self-signed). Writes $1.key (PKCS#8) and $1.pem.
  cert() {
    local ca=() key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    [ "$4" = rsa ] && key=(-newkey rsa:2048)
    [ -n "${5:-}" ] && ca=(-CA "$5.pem" -CAkey "$5.key")
    openssl req -x509 -config openssl.cnf -extensions "$3" "${key[@]}" -noenc -days 3 -subj "$2" \
      -keyout "$1.key" -out "$1.pem" "${ca[@]}" 2>/dev/null
  }
  local pw=storepass
  cert ca /CN=tributary-test-ca ca ec && cert rogue-ca /CN=tributary-rogue-ca ca ec \
    && cert broker /CN=localhost server ec ca || { cd - >/dev/null; return 1; }
  # The broker's PEM keystore: its key, then its chain.
  cat broker.key broker.pem ca.pem > broker-keystore.pem && rm broker.key broker.pem
  # OAUTHBEARER: the test identity provider's RS256 signing key (PKCS#8) and its JWKS, which the
  # broker's validator reads from the file.
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out oauth-signing.key 2>/dev/null \
    || { cd - >/dev/null; return 1; }
  local n
  n="$(openssl rsa -in oauth-signing.key -noout -modulus | cut -d= -f2 | xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '=')"
  printf '{"keys":[{"kty":"RSA","kid":"tributary-test","use":"sig","alg":"RS256","e":"AQAB","n":"%s"}]}\n' "$n" > jwks.json
  # keytool's commands all in one JVM (keytool is sun.security.tools.keytool.Main): the truststores,
  # alice's PKCS12 rewritten by keytool from openssl's, and the JKS from that, with a key password
  # of its own.
  local kt=(sun.security.tools.keytool.Main -noprompt) mains
  local trust=("${kt[@]}" -importcert -alias ca -storepass "$pw")
  mains="$(mains_classpath)" || { cd - >/dev/null; return 1; }
  ( cert client-alice /CN=alice client rsa ca \
    && openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -passout pass:keypass \
      -in client-alice.key -out client-alice-encrypted.key \
    && openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -passout pass:keypass \
      -in client-alice.key -out client-alice-encrypted-3des.key \
    && openssl pkcs12 -export -name alice -passout "pass:$pw" -inkey client-alice.key \
      -in client-alice.pem -certfile ca.pem -out openssl-alice.p12 \
    && java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC --add-exports java.base/sun.security.tools.keytool=ALL-UNNAMED \
      -cp "$mains" Mains \
      "${trust[@]}" -file ca.pem -keystore truststore.jks -storetype JKS -- \
      "${trust[@]}" -file ca.pem -keystore truststore.p12 -storetype PKCS12 -- \
      "${trust[@]}" -file rogue-ca.pem -keystore rogue-truststore.jks -storetype JKS -- \
      "${kt[@]}" -importkeystore -srckeystore openssl-alice.p12 -srcstoretype PKCS12 -srcstorepass "$pw" \
        -destkeystore client-alice.p12 -deststoretype PKCS12 -deststorepass "$pw" -- \
      "${kt[@]}" -importkeystore -srckeystore client-alice.p12 -srcstoretype PKCS12 -srcstorepass "$pw" \
        -srcalias alice -destkeystore client-alice.jks -deststoretype JKS -deststorepass "$pw" \
        -destkeypass keypass \
    && rm openssl-alice.p12 ) </dev/null >keytool.log 2>&1 &
  pki_jobs+=($!)
  cd - >/dev/null
}

# Waits for make_pki's background job; 1 if it failed (its log is printed).
wait_pki() {
  local s="$1" ok=0 j
  for j in "${pki_jobs[@]}"; do wait "$j" || ok=1; done
  pki_jobs=()
  if [ "$ok" != 0 ]; then echo "making the test PKI failed:" >&2; cat "$s/keytool.log" >&2; fi
  return "$ok"
}

start() {
  fetch_broker
  if running; then echo "127.0.0.1:$port"; return 0; fi
  local controller=$((port + 1000)) sasl=$((port + 1)) ssl=$((port + 2)) sasl_ssl=$((port + 3))
  local ports=("$port" "$sasl" "$ssl" "$sasl_ssl") sec="$run/security"
  for p in "${ports[@]}" "$controller"; do
    if listening "$p"; then echo "port $p is already in use; cannot start Kafka on $port" >&2; return 1; fi
  done
  rm -rf "$run"; mkdir -p "$run/data"
  make_pki "$sec"
  local users=(admin alice mallory) plain="org.apache.kafka.common.security.plain.PlainLoginModule required"
  local scram="org.apache.kafka.common.security.scram.ScramLoginModule required;" u l m
  for u in "${users[@]}"; do plain+=" user_$u=\"$u-secret\""; done
  cat > "$run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller,SASL_PLAINTEXT://127.0.0.1:$sasl,SSL://127.0.0.1:$ssl,SASL_SSL://127.0.0.1:$sasl_ssl
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl,SSL://127.0.0.1:$ssl,SASL_SSL://127.0.0.1:$sasl_ssl
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
sasl.oauthbearer.jwks.endpoint.url=file://$sec/jwks.json
ssl.keystore.type=PEM
ssl.keystore.location=$sec/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$sec/ca.pem
listener.name.ssl.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9.-]*).*\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=true
super.users=User:ANONYMOUS;User:admin
PROPS
  for l in sasl_plaintext sasl_ssl; do
    echo "listener.name.$l.plain.sasl.jaas.config=$plain;"
    for m in scram-sha-256 scram-sha-512; do echo "listener.name.$l.$m.sasl.jaas.config=$scram"; done
  done >> "$run/server.properties"
  cat >> "$run/server.properties" <<PROPS
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
  # The cluster id as `StorageTool random-uuid` makes it (16 random bytes, base64url, never a
  # leading '-'), without a JVM of its own.
  local id="-" scram_args=()
  while [[ "$id" == -* ]]; do id="$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')"; done
  for u in "${users[@]}"; do
    for m in SCRAM-SHA-256 SCRAM-SHA-512; do scram_args+=(--add-scram "$m=[name=$u,password=$u-secret]"); done
  done
  # Short-lived tools start faster on C1 and the serial GC.
  local topts=(-Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${jopts[@]:3}")
  if ! java "${topts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$id" -c "$run/server.properties" \
      "${scram_args[@]}" >"$run/format.log" 2>&1; then
    echo "formatting Kafka's storage failed:" >&2; cat "$run/format.log" >&2; wait_pki "$sec" || true; return 1
  fi
  # </dev/null and its own log files: the broker must hold none of the caller's fds, or a caller
  # reading our stdout through $(...) or a pipe would wait for the broker to exit.
  nohup java "${jopts[@]}" -cp "$cp" kafka.Kafka "$run/server.properties" \
    </dev/null >"$run/stdout.log" 2>&1 &
  echo $! > "$run/pid"
  start_acls
  # Ready = the server logged that it started (the port alone opens before the broker has
  # registered with the controller and can serve metadata) and the port accepts connections.
  # (kill -0, not running(): for a moment the child is still a forked bash, not yet java.)
  local pid deadline=$((SECONDS + 60))
  pid="$(cat "$run/pid")"
  while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
    if grep -q "Kafka Server started" "$run/server.log" 2>/dev/null && all_listening "${ports[@]}"; then
      if wait_pki "$sec" && wait_acls && write_security_env "$sec" "$sasl" "$ssl" "$sasl_ssl"; then
        echo "127.0.0.1:$port"; return 0
      fi
      stop; return 1
    fi
    sleep 0.1
  done
  echo "Kafka did not start on port $port; last lines of its logs:" >&2
  tail -n 40 "$run/stdout.log" "$run/server.log" >&2 2>/dev/null || true
  wait_pki "$sec" >/dev/null 2>&1 || true
  [ -n "$acl_job" ] && kill "$acl_job" 2>/dev/null || true
  stop  # leave no half-started broker behind to confuse the next start
  return 1
}

all_listening() { local p; for p in "$@"; do listening "$p" || return 1; done; }

# mallory may do nothing on topics and groups named denied*, nor create topics at the cluster level
# (CreateTopics then falls back to each topic's ACLs: open except for denied*). Any ACL on a resource
# turns allow.everyone.if.no.acl.found off for it, so these resources also get an ALLOW for User:*,
# which mallory's DENY beats. Kafka's own AclCommand through PLAINTEXT, three commands in one JVM,
# started together with the broker: its admin clients wait for it (short reconnect backoff), so the
# JVM's start-up overlaps the broker's. wait_acls waits for it.
acl_job=""
start_acls() {
  cat > "$run/log4j-tools.properties" <<PROPS
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
# The admin clients start before the broker listens: no warning for each refused connection.
log4j.logger.org.apache.kafka.clients.NetworkClient=ERROR
PROPS
  printf 'reconnect.backoff.ms=50\nreconnect.backoff.max.ms=100\n' > "$run/acl-admin.properties"
  local mains; mains="$(mains_classpath)" || return 1
  local acl=(kafka.admin.AclCommand --bootstrap-server "127.0.0.1:$port"
    --command-config "$run/acl-admin.properties" --add)
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "-Dlog4j.configuration=file:$run/log4j-tools.properties" \
    -cp "$mains:$dir/libs/*" Mains \
    "${acl[@]}" --allow-principal 'User:*' --deny-principal User:mallory --operation All \
      --resource-pattern-type prefixed --topic denied --group denied -- \
    "${acl[@]}" --allow-principal 'User:*' --operation All --cluster -- \
    "${acl[@]}" --deny-principal User:mallory --operation Create --cluster \
    </dev/null >"$run/acl.log" 2>&1 &
  acl_job=$!
}

# 1 if start_acls' commands failed (their log is printed).
wait_acls() {
  if wait "$acl_job"; then return 0; fi
  echo "creating the test ACLs failed:" >&2; cat "$run/acl.log" >&2; return 1
}

# $1 = security dir, $2..$4 = SASL_PLAINTEXT, SSL, SASL_SSL ports
write_security_env() {
  cat > "$1/env" <<ENV
TRIBUTARY_TEST_SASL_PLAINTEXT=127.0.0.1:$2
TRIBUTARY_TEST_SSL=127.0.0.1:$3
TRIBUTARY_TEST_SASL_SSL=127.0.0.1:$4
TRIBUTARY_TEST_SECURITY_DIR=$1
ENV
}

case "$cmd" in
  fetch) fetch_broker ;;
  fetch-connect) fetch_connect ;;
  start) start ;;
  stop) stop ;;
  security-env) if running && [ -f "$run/security/env" ]; then cat "$run/security/env"; else
    echo "no broker with secured listeners is running on $port" >&2; exit 1; fi ;;
  status) if running; then echo "running: 127.0.0.1:$port (pid $(cat "$run/pid"))"; else echo "stopped"; exit 1; fi ;;
  *) sed -n '2,31p' "$0"; exit 2 ;;
esac
