#!/usr/bin/env bash
# t_lint.sh -- the checks a release needs besides the tests (./build.sh lint runs this):
#   - every C file of ours matches .clang-format (clang-format --dry-run -Werror);
#   - the clang static analyzer (scan-build) finds nothing in core/, transport/, exporter/;
#   - cppcheck (warning, portability, performance) finds nothing there.
# A suppression is written next to the code it concerns, with the reason:
#   cppcheck: "/* cppcheck-suppress <id> */" on the line above; scan-build: none used.
#
#   tests/release/t_lint.sh          check (ok / not ok lines, exit 1 on a finding)
#   tests/release/t_lint.sh --fix    reformat our C files in place (./build.sh fmt)
source "$(dirname "$0")/../lib.sh"
cd "$TOP"

# Our C sources and headers; vendor/ is not ours to format.
ours() {
    if git rev-parse --git-dir >/dev/null 2>&1; then
        git ls-files -co --exclude-standard -- 'core/*.[ch]' 'transport/*.[ch]' 'exporter/*.[ch]' 'tests/*.[ch]'
    else
        find core transport exporter tests -name node_modules -prune -o -name '*.[ch]' -print
    fi | sort
}
mapfile -t FILES < <(ours)

if [ "${1:-}" = --fix ]; then
    clang-format -i "${FILES[@]}"
    echo "reformatted ${#FILES[@]} files"
    exit 0
fi

need_tool() { command -v "$1" >/dev/null || { fail "$2" "$1 not installed (tests/deps.sh installs it)"; return 1; }; }

# --- formatting --------------------------------------------------------------------------
if need_tool clang-format "clang-format"; then
    out=$(clang-format --dry-run -Werror "${FILES[@]}" 2>&1)
    if [ -z "$out" ]; then
        ok "clang-format: ${#FILES[@]} files match .clang-format"
    else
        n=$(grep -c 'error:' <<<"$out")
        fail "clang-format: $n lines differ from .clang-format (./build.sh fmt fixes them)" \
            "$(grep 'error:' <<<"$out" | cut -d: -f1 | sort | uniq -c | sort -rn | head -n 10 | tr '\n' ' ')"
    fi
fi

# --- clang static analyzer ---------------------------------------------------------------
# Our three libraries and main.c, compiled afresh in their own build directory (an
# incremental build would analyze only what changed and miss findings in the rest).
if need_tool scan-build "scan-build"; then
    sb=$BUILD/scan
    rm -rf "$sb"
    out=$(scan-build -o "$sb/report" --status-bugs \
              sh -c 'make --no-print-directory -j"$1" BUILD="$2" host_CC="$CC" \
                     "$2/host/lib/libcore.a" "$2/host/lib/libtransport.a" \
                     "$2/host/lib/libexporter.a" "$2/host/obj/exporter/main.o"' \
              _ "${JOBS:-2}" "$sb" 2>&1)
    rc=$?
    findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: warning:' <<<"$out")
    if [ "$rc" = 0 ] && [ -z "$findings" ]; then
        ok "scan-build: no findings in core/ transport/ exporter/"
    else
        fail "scan-build: findings (exit $rc)" "$(head -n 10 <<<"${findings:-$(tail -n 5 <<<"$out")}" | tr '\n' ' ')"
    fi
fi

# --- cppcheck ----------------------------------------------------------------------------
if need_tool cppcheck "cppcheck"; then
    # one job: cppcheck's whole-program checks (across files) are off with -j
    out=$(cppcheck -q --std=c11 --enable=warning,portability,performance \
              --inline-suppr --error-exitcode=1 --suppress=missingIncludeSystem \
              -D__GNUC__ -D_GNU_SOURCE -DIOTPRO_VERSION='"0"' -DIOTPRO_REVISION='"0"' \
              -I. -Ivendor/bearssl/inc -Ivendor/jsmn -Ivendor/civetweb/include \
              --template='{file}:{line}: {severity}: {message} [{id}]' \
              core transport exporter 2>&1)
    rc=$?
    if [ "$rc" = 0 ] && [ -z "$out" ]; then
        ok "cppcheck: no findings in core/ transport/ exporter/"
    else
        fail "cppcheck: findings (exit $rc)" "$(head -n 10 <<<"$out" | tr '\n' ' ')"
    fi
fi
finish
