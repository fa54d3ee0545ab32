#!/usr/bin/env bash
# Runs every test: unit, property and integration tests, the integration tests against a real
# Apache Kafka broker (KRaft, fetched from Maven Central and started by scripts/kafka.sh), and the
# differential tests against Apache Kafka Connect itself (also from Maven Central).
# Set TRIBUTARY_TEST_BOOTSTRAP to use a cluster of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-build-deps.sh
started_here=""
# Apache Kafka Connect itself, for the differential tests (crates/tributary/tests/reference_connect.rs).
scripts/kafka.sh fetch-connect
if [ -z "${TRIBUTARY_TEST_BOOTSTRAP:-}" ]; then
  port="${KAFKA_PORT:-29092}"
  scripts/kafka.sh fetch
  TRIBUTARY_TEST_BOOTSTRAP="$(scripts/kafka.sh start "$port")"
  export TRIBUTARY_TEST_BOOTSTRAP
  started_here="$port"
  trap 'scripts/kafka.sh stop "$started_here" >/dev/null 2>&1 || true' EXIT
  # The same broker's SASL_PLAINTEXT, SSL and SASL_SSL listeners and their keystores
  # (crates/tributary/tests/secured_kafka.rs).
  while IFS= read -r line; do export "${line?}"; done < <(scripts/kafka.sh security-env "$port")
fi
echo "testing against Kafka at $TRIBUTARY_TEST_BOOTSTRAP"
cargo test --workspace --locked -- --test-threads="${TEST_THREADS:-2}"
