#!/usr/bin/env bash
# Prints THIRD_PARTY_NOTICES: the license texts of the third-party code compiled into
# iotpro_exporter, taken verbatim from the fetched trees (run vendor/fetch.sh first).
#
#   vendor/notices.sh > THIRD_PARTY_NOTICES
#
# The committed file must equal this script's output (tests/dist/t_dist.sh checks it), so
# a version bump in vendor/manifest that changes a license shows up as a test failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ver() { awk -v n="$1" '$1 == n {print $3; exit}' "$here/manifest"; }

section() { # title file
    printf '%s\n' "================================================================================"
    printf '%s\n' "$1"
    printf '%s\n\n' "================================================================================"
    cat "$2"
    printf '\n'
}

cat <<HEAD
Third-party software in iotpro_exporter
=======================================

iotpro_exporter itself is licensed under the Apache License 2.0 (LICENSE). Its binaries
also contain the following third-party code, built from the Debian 12 source and binary
packages pinned in vendor/manifest. Their license texts follow, unchanged.

  BearSSL   $(ver bearssl)   MIT       TLS 1.2 client, X.509 validation, crypto
  civetweb  $(ver civetweb)    MIT       HTTP server for /metrics (md5.inl: zlib license)
  jsmn      $(ver jsmn)        MIT       JSON tokenizer (header only)

HEAD
section "BearSSL $(ver bearssl) -- LICENSE.txt" "$here/bearssl/LICENSE.txt"
section "civetweb $(ver civetweb) -- debian/copyright" "$here/civetweb/debian/copyright"
section "jsmn $(ver jsmn) -- copyright (Debian package libjsmn-dev)" "$here/jsmn/copyright"
