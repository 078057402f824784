#!/usr/bin/env bash
# iotpro_exporter build driver.
#
#   ./build.sh                 static musl binary: build/iotpro_exporter (stripped), and
#                              build/compile_commands.json for editors and analyzers
#   ./build.sh dynamic         glibc, dynamically linked (for debugging only)
#   ./build.sh dist            static binaries for amd64, arm64 and armv7 and their release
#                              archives: build/dist/*.tar.gz and build/dist/sha256sums.txt
#   ./build.sh lint            clang-format check, scan-build and cppcheck (no findings allowed)
#   ./build.sh fmt             reformat our sources in place with .clang-format
#   ./build.sh demo            run the exporter against the bundled simulated backend
#   ./build.sh test [filter]   build everything and run every test (lint, unit, ASan/UBSan,
#                              TSan, fuzz smoke, TLS, conformance, simulator, end-to-end,
#                              arm64 and armv7 under qemu, release archives)
#   ./build.sh fuzz [seconds]  run every libFuzzer target for the given time (default 60)
#   ./build.sh bench           benchmarks, written to BENCHMARKS.md
#   ./build.sh soak [minutes]  accelerated traffic with periodic faults (default 10)
#   ./build.sh clean
#
# Incremental: make tracks dependencies; a second run with nothing changed only checks.
set -euo pipefail
cd "$(dirname "$0")"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
MAKE=(make --no-print-directory -j"$JOBS")

vendor() { vendor/fetch.sh; }

release() {
    vendor
    "${MAKE[@]}" release cdb
    strip -o build/iotpro_exporter build/release/bin/iotpro_exporter
    # core/ must not allocate, read the clock or draw randomness: callers pass those in.
    check_core_purity
    echo "build/iotpro_exporter: $(file -b build/iotpro_exporter | cut -d, -f1-5)"
    echo "stripped size: $(stat -c %s build/iotpro_exporter) bytes"
}

# Release archives in the Prometheus exporters' layout, one per architecture, byte for byte
# the same on every build of a commit: fixed mtimes (the commit's time), owner and order,
# gzip without name or time; the binaries carry no build path (Makefile SHIP_CFLAGS).
DIST_ARCHS="amd64 arm64 armv7"
dist_cfg() { case $1 in amd64) echo release ;; *) echo "$1" ;; esac; }
dist_strip() { case $1 in amd64) echo strip ;; arm64) echo aarch64-linux-gnu-strip ;; armv7) echo arm-linux-gnueabihf-strip ;; esac; }
DIST_FILES="README.md CHANGELOG.md LICENSE THIRD_PARTY_NOTICES
            deploy/iotpro_exporter.conf.example
            deploy/systemd/iotpro_exporter.service deploy/systemd/iotpro_exporter.default"

dist() {
    vendor
    # The version and revision (git describe) come from the Makefile; DIST_VERSION and
    # DIST_REVISION replace them (a build of the same sources outside git).
    local version revision a cfg name out=build/dist stage
    read -r version revision < <("${MAKE[@]}" -s print-version)
    version=${DIST_VERSION:-$version} revision=${DIST_REVISION:-$revision}
    export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
    "${MAKE[@]}" VERSION="$version" REVISION="$revision" \
        $(for a in $DIST_ARCHS; do echo "build/$(dist_cfg "$a")/bin/iotpro_exporter"; done)
    check_core_purity
    rm -rf "$out" && mkdir -p "$out"
    for a in $DIST_ARCHS; do
        cfg=$(dist_cfg "$a") name=iotpro_exporter-$version.linux-$a
        stage=$out/.stage/$name
        mkdir -p "$stage"
        "$(dist_strip "$a")" -o "$stage/iotpro_exporter" "build/$cfg/bin/iotpro_exporter"
        # shellcheck disable=SC2086
        cp $DIST_FILES "$stage/"
        find "$stage" -type f -exec chmod 0644 {} +
        chmod 0755 "$stage" "$stage/iotpro_exporter"
        tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
            --format=gnu -C "$out/.stage" -cf - "$name" | gzip -n -9 >"$out/$name.tar.gz"
        echo "$out/$name.tar.gz: $(file -b "$stage/iotpro_exporter" | cut -d, -f1-2), $(stat -c %s "$stage/iotpro_exporter") bytes"
    done
    rm -rf "$out/.stage"
    (cd "$out" && sha256sum -- *.tar.gz >sha256sums.txt)
    echo "$out/sha256sums.txt (version $version, revision $revision)"
}

# Formatting (.clang-format), the clang static analyzer and cppcheck; see tests/release.
lint() {
    tests/deps.sh
    vendor
    exec tests/release/t_lint.sh
}

check_core_purity() {
    local bad
    bad=$(for o in build/release/obj/core/*.o; do
              [ -e "$o" ] || continue
              nm -u "$o" | awk -v o="$o" '$2 ~ /^(malloc|calloc|realloc|free|time|clock_gettime|gettimeofday|rand|random|getrandom|getentropy|socket|connect|open|read|write|pthread_.*)$/ {print o": "$2}'
          done)
    if [ -n "$bad" ]; then
        echo "core/ must do no I/O, allocation, clock or randomness; found:" >&2
        echo "$bad" >&2
        exit 1
    fi
}

case "${1:-release}" in
release|"")
    release ;;
dynamic)
    vendor
    "${MAKE[@]}" dynamic
    echo "build/host/bin/iotpro_exporter (glibc, dynamic; not for distribution)" ;;
dist)
    dist ;;
lint)
    lint ;;
fmt)
    exec tests/release/t_lint.sh --fix ;;
test)
    tests/deps.sh
    release
    "${MAKE[@]}" host asan fuzz tsan arm64 armv7
    dist
    shift || true
    # Everything is built now: the tests treat a missing program as a failure (tests/lib.sh).
    IOTPRO_TESTS_BUILT=1 exec tests/run.sh "${1:-}" ;;
demo)
    tests/deps.sh
    release
    "${MAKE[@]}" host
    exec tests/demo.sh ;;
fuzz)
    tests/deps.sh
    vendor
    "${MAKE[@]}" fuzz
    secs=${2:-60}
    rc=0
    for t in build/fuzz/bin/fuzz_*; do tests/fuzz/run_one.sh "$t" "$secs" || rc=1; done
    exit $rc ;;
bench)
    tests/deps.sh
    release
    "${MAKE[@]}" host
    tests/bench/run.sh "${@:2}"
    # then the per-architecture section: sizes, BearSSL's choices, emulated core smoke
    dist
    "${MAKE[@]}" arm64 armv7
    exec tests/release/arch_report.sh ;;
soak)
    tests/deps.sh
    release
    "${MAKE[@]}" host asan
    exec tests/e2e/soak.sh "${2:-10}" ;;
clean)
    rm -rf build ;;
*)
    sed -n '2,20p' "$0"; exit 2 ;;
esac
