#!/usr/bin/env bash
# arch_report.sh -- writes the "Release binaries per architecture" section of
# BENCHMARKS.md (between the arch:begin and arch:end markers; appended when absent):
# each archive's stripped binary size, the BearSSL implementations the TLS client uses
# there (tests/unit/test_tls_impl.c), and a smoke run of the core benchmark, natively on
# amd64 and under qemu for arm64 and armv7 (emulated timings say nothing about a board).
#
#   ./build.sh dist && make arm64 armv7 host && tests/release/arch_report.sh
source "$(dirname "$0")/../lib.sh"
cd "$TOP"
OUT=${OUT:-$TOP/BENCHMARKS.md}
read -r VERSION REVISION < <(make -s --no-print-directory print-version)
ARGS=(2000 3 100000)   # assets, keys per asset, messages: the bench smoke's size

run_on() { # arch program args...
    local a=$1; shift
    case $a in
        amd64) "$@" ;;
        arm64) qemu-aarch64-static "$@" ;;
        armv7) qemu-arm-static "$@" ;;
    esac
}
cfg_of() { case $1 in amd64) echo host ;; *) echo "$1" ;; esac; }

rows=""
for a in amd64 arm64 armv7; do
    tgz=$BUILD/dist/iotpro_exporter-$VERSION.linux-$a.tar.gz
    size=$(tar -xzOf "$tgz" "iotpro_exporter-$VERSION.linux-$a/iotpro_exporter" | wc -c)
    impl=$(run_on "$a" "$BUILD/$(cfg_of "$a")/bin/test_tls_impl" | sed -n 's/^# bearssl client: //p')
    core=$(run_on "$a" "$BUILD/$(cfg_of "$a")/bin/bench_core_ingest" "${ARGS[@]}" | "$PY" tests/bench/parse_core.py |
           awk -F'\t' '$1 == "core.msgs_per_s" {printf "%.0f", $2}')
    how=native; [ "$a" = amd64 ] || how="qemu ($(run_on "$a" --version 2>/dev/null | head -n1 | awk '{print $3}'))"
    rows+="| $a | $size | $(sed 's/ /, /g' <<<"$impl") | ${core:-?} msgs/s, $how |"$'\n'
done

section=$(cat <<EOF
<!-- arch:begin (written by tests/release/arch_report.sh; keep when regenerating) -->
## Release binaries per architecture

Version $VERSION ($REVISION), from \`./build.sh dist\`: static musl binaries, stripped,
each at most 1 MB, 1,000,000 bytes (tests/release/t_dist.sh). The core benchmark ran as a smoke test
(\`bench_core_ingest ${ARGS[*]}\`): under qemu user-mode emulation on this x86 machine
for arm64 and armv7, so those figures only show that it runs; they say nothing about the
speed of an ARM board. BearSSL's choice (AES CTR, GHASH, ChaCha20, Poly1305, EC) is what
the TLS client and the HTTPS server use on that architecture (tests/unit/test_tls_impl.c
checks both): on both ARM targets the constant-time
bitsliced AES and constant-time GHASH, since BearSSL has no code for the ARMv8 crypto
instructions; on amd64 AES-NI and PCLMULQDQ when the CPU has them.

| arch | binary bytes | BearSSL implementations | core ingest smoke |
|---|---|---|---|
${rows%$'\n'}
<!-- arch:end -->
EOF
)
"$PY" - "$OUT" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pat = re.compile(r"<!-- arch:begin.*?<!-- arch:end -->", re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
echo "$section"
