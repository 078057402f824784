#!/usr/bin/env bash
# t_arch.sh -- the arm64 and armv7 builds, run here under qemu user-mode emulation (the
# emulator is called explicitly: binfmt_misc may not be set up):
#   - every unit test, cross-compiled for the architecture (build/ARCH/bin/test_*);
#   - the exporter from the release archive: --version prints VERSION and the revision,
#     --config.check accepts a good configuration and rejects a bad one with exit 2, and
#     against the simulator (a host program) it serves /metrics equal to the simulator's
#     truth, iotpro_exporter_build_info{version,revision}, and stops on SIGTERM with 0;
#   - the core benchmark, as a smoke run: emulated timings say nothing about the boards.
#
#   ARCHS="arm64" tests/release/t_arch.sh     one architecture only
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/e2e/e2e_common.sh"
cd "$TOP"
read -r VERSION REVISION < <(make -s --no-print-directory print-version)
ARCHS=${ARCHS:-arm64 armv7}

qemu_of() { case $1 in arm64) echo qemu-aarch64-static ;; armv7) echo qemu-arm-static ;; esac; }

# --- unit tests: both architectures at once (one emulator each, two cores) --------------
# unit_tests ARCH: the harness's own lines, named after the architecture and the program
unit_tests() {
    local a=$1 q t tn out rc n=0
    q=$(qemu_of "$a")
    for t in "$BUILD/$a"/bin/test_*; do
        [ -x "$t" ] || continue
        n=$((n + 1)) tn=$(basename "$t")
        out=$(cd "$TOP" && IOTPRO_EMULATED=1 timeout -k 5 300 "$q" "$t" 2>&1)
        rc=$?
        sed -n -E "s/^(ok|not ok|skip) - /\\1 - $a $tn: /p" <<<"$out"
        grep -E '^# bearssl ' <<<"$out" | sed "s/^# /# $a /"
        if [ "$rc" != 0 ] && ! grep -q '^not ok - ' <<<"$out"; then
            fail "$a $tn exits 0" "status $rc: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
        fi
    done
    [ "$n" -gt 0 ] || unbuilt "$a: unit tests" "no $BUILD/$a/bin/test_* (make $a)"
}
for a in $ARCHS; do
    if command -v "$(qemu_of "$a")" >/dev/null; then
        unit_tests "$a" >"$TEST_TMP/unit-$a.out" 2>&1 &
    else
        echo "not ok - $a: $(qemu_of "$a") not installed (tests/deps.sh installs qemu-user-static)" >"$TEST_TMP/unit-$a.out"
    fi
done
wait
for a in $ARCHS; do
    cat "$TEST_TMP/unit-$a.out"
    grep -q '^not ok - ' "$TEST_TMP/unit-$a.out" && _failed=1
done

for a in $ARCHS; do
    q=$(qemu_of "$a")
    command -v "$q" >/dev/null || continue

    # --- the shipped exporter -------------------------------------------------------------
    tgz=$BUILD/dist/iotpro_exporter-$VERSION.linux-$a.tar.gz
    if [ ! -f "$tgz" ]; then
        unbuilt "$a: exporter" "no $tgz (./build.sh dist)"; continue
    fi
    mkdir -p "$TEST_TMP/$a" && tar -xzf "$tgz" -C "$TEST_TMP/$a"
    bin=$TEST_TMP/$a/iotpro_exporter-$VERSION.linux-$a/iotpro_exporter
    out=$("$q" "$bin" --version 2>&1)
    check "$a: --version prints 'iotpro_exporter $VERSION ($REVISION)'" \
        test "$out" = "iotpro_exporter $VERSION ($REVISION)"
    certs || { fail "$a: test certificates"; continue; }
    out=$(IOTPRO_PASSWORD=pw "$q" "$bin" --iotpro.username=u@example.com \
              --tls.ca-file="$CERTS/ca.pem" --config.check 2>&1)
    check "$a: --config.check accepts a good configuration" grep -q '^configuration OK' <<<"$out"
    IOTPRO_PASSWORD=pw "$q" "$bin" --iotpro.username=u@example.com --web.max-requests=x \
        --config.check >/dev/null 2>&1
    check "$a: --config.check rejects a bad value with exit 2" test $? = 2

    EXP_BIN=$bin EXP_WRAP=$q
    e2e_start_sim --assets 50 --rate 50 || { fail "$a: simulator starts"; continue; }
    if ! EXP_START_WAIT=30 e2e_start_exporter; then
        fail "$a: exporter listens" "$(exp_log_tail)"; kill "$SIM_PID"; continue
    fi
    if e2e_wait_up 60; then ok "$a: iotpro_up becomes 1 under emulation"
    else fail "$a: iotpro_up becomes 1" "$(exp_log_tail)"; fi
    sim_ctl "/rate?n=0" >/dev/null
    if out=$(compare_truth --wait 30 2>&1); then ok "$a: every series has the simulator's last value"
    else fail "$a: every series has the simulator's last value" "$(tail -n 5 <<<"$out" | tr '\n' ' ')"; fi
    check "$a: iotpro_exporter_build_info{version=\"$VERSION\",revision=\"$REVISION\"} 1" \
        metric_eq "iotpro_exporter_build_info{version=\"$VERSION\",revision=\"$REVISION\"}" 1
    e2e_stop_exporter 10
    check "$a: SIGTERM: exit status 0 (got $EXP_RC)" test "$EXP_RC" = 0
    kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null

    # --- core benchmark smoke -------------------------------------------------------------
    cb=$BUILD/$a/bin/bench_core_ingest
    if [ -x "$cb" ]; then
        out=$(timeout -k 5 120 "$q" "$cb" 2000 3 100000 2>&1)
        rc=$?
        echo "$out" | sed "s/^/# $a bench_core_ingest (emulated): /"
        check "$a: core benchmark runs under emulation" test "$rc" = 0
    else
        unbuilt "$a: core benchmark" "not built ($cb)"
    fi
done
finish
