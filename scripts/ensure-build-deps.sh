#!/usr/bin/env bash
# librdkafka is built with TLS, SASL and OAUTHBEARER/OIDC against the system's OpenSSL and
# libcurl: installs their headers (Debian's libssl-dev and libcurl4-openssl-dev, and pkg-config
# to find them) when they are missing.
set -euo pipefail
if pkg-config --exists openssl libcurl 2>/dev/null; then exit 0; fi
echo "installing OpenSSL's and libcurl's headers for librdkafka's TLS, SASL and OIDC" >&2
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -q >&2 && $sudo apt-get install -y -q libssl-dev libcurl4-openssl-dev pkg-config >&2
