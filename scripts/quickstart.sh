#!/usr/bin/env bash
# The quickstart: a standalone worker on the embedded broker copies quickstart/test.txt into the
# topic connect-test and back out to quickstart/test.sink.txt. Runs in the foreground; Ctrl-C
# stops it (offsets are flushed). Everything it writes stays under quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
# Built binaries, wherever cargo puts them.
bin="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release"
mkdir -p quickstart
if [ ! -f quickstart/test.txt ]; then
  printf 'foo\nbar\nhello from tributary\n' > quickstart/test.txt
fi
scripts/ensure-build-deps.sh
cargo build --release -p tributary
echo "REST API: http://127.0.0.1:8083  (try: curl -s localhost:8083/connectors?expand=status)"
echo "Append lines to quickstart/test.txt and watch them arrive in quickstart/test.sink.txt"
exec "$bin"/tributary standalone config/connect-standalone.properties \
  config/connect-file-source.properties config/connect-file-sink.properties
