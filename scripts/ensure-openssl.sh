#!/usr/bin/env bash
# rdkafka is built with TLS and SASL against the system's OpenSSL: installs its headers
# (Debian's libssl-dev, and pkg-config to find them) when they are missing.
set -euo pipefail
if pkg-config --exists openssl 2>/dev/null; then exit 0; fi
echo "installing OpenSSL's headers (libssl-dev) for librdkafka's TLS and SASL" >&2
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -q >&2 && $sudo apt-get install -y -q libssl-dev pkg-config >&2
