#!/usr/bin/env bash
# Installs the Debian packages (and npm packages) that the build and the tests use,
# when they are missing. Called by ./build.sh test|demo|bench and by .ci/run; safe to
# run again (it installs nothing that is already there). Needs root for apt-get.
set -eu
cd "$(dirname "$0")/.."

# package:command-or-file that proves it is installed (package may carry :arch)
DEBS="
musl-tools:/usr/bin/musl-gcc
clang:/usr/bin/clang
libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
make:/usr/bin/make
binutils:/usr/bin/ar
xz-utils:/usr/bin/xz
patch:/usr/bin/patch
file:/usr/bin/file
curl:/usr/bin/curl
openssl:/usr/bin/openssl
python3:/usr/bin/python3
python3-websockets:/usr/lib/python3/dist-packages/websockets/__init__.py
python3-prometheus-client:/usr/lib/python3/dist-packages/prometheus_client/__init__.py
faketime:/usr/bin/faketime
prometheus:/usr/bin/prometheus
valgrind:/usr/bin/valgrind
ca-certificates:/etc/ssl/certs/ca-certificates.crt
debian-archive-keyring:/usr/share/keyrings/debian-archive-keyring.gpg
nodejs:/usr/bin/node
npm:/usr/bin/npm
procps:/usr/bin/ps
iproute2:/usr/bin/ss
apache2-utils:/usr/bin/htpasswd
python3-bcrypt:/usr/lib/python3/dist-packages/bcrypt/__init__.py
clang-format:/usr/bin/clang-format
clang-tools:/usr/bin/scan-build
cppcheck:/usr/bin/cppcheck
gcc-aarch64-linux-gnu:/usr/bin/aarch64-linux-gnu-gcc
gcc-arm-linux-gnueabihf:/usr/bin/arm-linux-gnueabihf-gcc
musl-dev:arm64:/usr/lib/aarch64-linux-musl/musl-gcc.specs
musl-dev:armhf:/usr/lib/arm-linux-musleabihf/musl-gcc.specs
qemu-user-static:/usr/bin/qemu-aarch64-static
"
# The release archives are built for these Debian architectures besides the host's
# (musl-dev:arm64 and musl-dev:armhf above).
FOREIGN_ARCHS="arm64 armhf"
missing=""
for row in $DEBS; do
    pkg=${row%%:/*} path=/${row#*:/}
    [ -e "$path" ] || missing="$missing $pkg"
done
add_archs=""
for a in $FOREIGN_ARCHS; do
    dpkg --print-foreign-architectures 2>/dev/null | grep -qx "$a" || add_archs="$add_archs $a"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing Debian packages:$missing; as root, run:" >&2
        for a in $add_archs; do echo "    dpkg --add-architecture $a" >&2; done
        echo "    apt-get update && apt-get install$missing" >&2
        exit 1
    fi
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    for a in $add_archs; do dpkg --add-architecture "$a"; done
    # A mirror caught mid-sync (or a proxy holding a stale copy) fails one index file
    # with "File has unexpected size" and apt-get update exits 100 although every other
    # index was refreshed. Try again a few times; then go on with what was fetched and
    # let apt-get install say exactly which package it cannot find, if any.
    updated=""
    for wait in 0 15 45; do
        sleep "$wait"
        if apt-get update -qq -o Acquire::Retries=3; then updated=1; break; fi
    done
    [ -n "$updated" ] || echo "deps: apt-get update failed for some index files (above); installing from the indexes it did fetch" >&2
    if ! apt-get install -y -qq -o Acquire::Retries=3 --no-install-recommends $missing >/dev/null; then
        echo "deps: apt-get install failed for:$missing" >&2
        exit 1
    fi
fi

# npm packages for the reference client and the interop peer, kept inside tests/.
if [ -f tests/package.json ] && [ ! -d tests/node_modules ] && command -v npm >/dev/null; then
    echo "deps: npm install (tests/package.json)"
    (cd tests && npm install --no-audit --no-fund --silent) || echo "deps: npm install failed; tests that need npm packages will be skipped" >&2
fi
exit 0
