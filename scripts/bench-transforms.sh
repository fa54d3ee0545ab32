#!/usr/bin/env bash
# Converter and transform throughput without a broker (one core), against a serde_json baseline
# in the same run. Prints a table and appends it to BENCHMARKS.md.
#
#   scripts/bench-transforms.sh [RECORDS]     default 100000
set -euo pipefail
cd "$(dirname "$0")/.."
# Built binaries, wherever cargo puts them.
# BENCH_PROFILE as in scripts/bench.sh.
profile="${BENCH_PROFILE:-release}"
bin="$(realpath -m "${CARGO_TARGET_DIR:-target}")/$([ "$profile" = dev ] && echo debug || echo "$profile")"
cargo build --profile "$profile" -q -p tributary-bench
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
table="$(printf '### Converters and transforms, %s — %s\n\n%s\n' "$(date -u +%Y-%m-%d)" "$machine" "$("$bin"/transform-bench "${1:-100000}")")"
echo "$table"
printf '\n%s\n' "$table" >> BENCHMARKS.md
