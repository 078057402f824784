#!/usr/bin/env bash
# tests/mkcerts.sh <dir>
# Makes a throw-away test PKI with the openssl command-line tool (idempotent: an
# existing, still-valid set in <dir> is reused):
#   ca.pem / ca.key                 test root CA (P-256, basicConstraints critical CA:TRUE)
#   server.pem / server.key         leaf for DNS:localhost (+ IP SANs), chain = leaf + nothing
#   other-ca.pem / other-ca.key     an unrelated CA (for "unknown CA" tests)
#   untrusted.pem / untrusted.key   leaf for localhost signed by other-ca
#   wrongname.pem / wrongname.key   leaf for DNS:wrong.example signed by ca
#   expired.pem / expired.key       leaf for localhost, validity ended in the past
#   future.pem / future.key         leaf for localhost, validity starts in the future
#   rsa-server.pem / rsa-server.key leaf for localhost with an RSA-2048 key (ECDHE_RSA suites)
# All keys are unencrypted PKCS#8 PEM; the server key is also written as SEC1 (server.ec.key).
set -euo pipefail
dir=${1:?usage: mkcerts.sh <dir>}
mkdir -p "$dir"
cd "$dir"

if [ -f ca.pem ] && [ -f rsa-server.pem ] && openssl x509 -in server.pem -noout -checkend 86400 >/dev/null 2>&1; then
    exit 0
fi

ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

mkca() { # name subject
    ec "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem" 2>/dev/null
}

# leaf <name> <ca> <san> <openssl-x509-date-args...>
leaf() {
    local name=$1 ca=$2 san=$3; shift 3
    [ -f "$name.key" ] || ec "$name.key"
    openssl req -new -key "$name.key" -subj "/CN=${san#DNS:}" -out "$name.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
        -sha256 -extfile "$name.ext" "$@" -out "$name.pem" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

mkca ca "iotpro test CA"
mkca other-ca "unrelated test CA"
leaf server ca "DNS:localhost,IP:127.0.0.1,IP:::1" -days 825
openssl ec -in server.key -out server.ec.key 2>/dev/null
leaf untrusted other-ca "DNS:localhost" -days 825
leaf wrongname ca "DNS:wrong.example" -days 825
# Dates in the past / future: openssl x509 -req has no -not_before in 3.0, so sign with
# faketime when available, else use a CA-signed cert via `openssl ca`-less trick: x509 -days
# with a negative offset is not allowed, so we rely on faketime (Debian package faketime).
if command -v faketime >/dev/null; then
    faketime -f '-800d' bash -c "$(declare -f leaf ec); leaf expired ca DNS:localhost -days 30"
    faketime -f '+400d' bash -c "$(declare -f leaf ec); leaf future ca DNS:localhost -days 825"
fi
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-server.key 2>/dev/null
leaf rsa-server ca "DNS:localhost,IP:127.0.0.1" -days 825
rm -f ./*.srl
