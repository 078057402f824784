#!/usr/bin/env bash
# t_dist.sh -- the release archives that ./build.sh dist wrote to build/dist:
#   - sha256sums.txt lists exactly the three archives and every checksum verifies;
#   - each archive holds one directory iotpro_exporter-VERSION.linux-ARCH/ with exactly
#     the binary, README.md, CHANGELOG.md, LICENSE, THIRD_PARTY_NOTICES, the example config
#     and the systemd unit and its environment file, owned by 0:0, all stamped with the
#     commit time, gzip without a name or a time; the documents equal the repository's;
#   - file and readelf: static, stripped, the right machine and ABI (armv7: ARMv7 EABI5,
#     hard float), no interpreter, no dynamic section (so no RPATH/RUNPATH), <= 1 MB, and
#     no build directory inside;
#   - THIRD_PARTY_NOTICES is what vendor/notices.sh makes from the fetched trees;
#   - a second build of the same sources in another directory gives identical archives.
source "$(dirname "$0")/../lib.sh"
cd "$TOP"
DIST=$BUILD/dist
read -r VERSION REVISION < <(make -s --no-print-directory print-version)
ARCHS="amd64 arm64 armv7"
MAX_BYTES=1000000   # 1 MB, as in BENCHMARKS.md's size target

if [ ! -f "$DIST/sha256sums.txt" ]; then
    unbuilt "release archives" "no $DIST/sha256sums.txt (./build.sh dist)"
    finish
fi

# --- checksums ------------------------------------------------------------------------
want=$(for a in $ARCHS; do echo "iotpro_exporter-$VERSION.linux-$a.tar.gz"; done | sort)
have=$(awk '{print $2}' "$DIST/sha256sums.txt" | sort)
check "sha256sums.txt lists exactly the three archives" test "$want" = "$have"
check "sha256sum -c sha256sums.txt" bash -c "cd '$DIST' && sha256sum --quiet -c sha256sums.txt"
check "no other files in build/dist" test "$(ls "$DIST" | sort)" = "$(printf '%s\nsha256sums.txt' "$want" | sort)"

# --- archive layout ---------------------------------------------------------------------
EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
for a in $ARCHS; do
    name=iotpro_exporter-$VERSION.linux-$a
    tgz=$DIST/$name.tar.gz
    [ -f "$tgz" ] || { fail "$a: archive $name.tar.gz exists"; continue; }
    if out=$("$PY" - "$tgz" "$name" "$EPOCH" <<'PY'
import sys, tarfile
path, top, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(path, "rb").read(10)
bad = []
if raw[:3] != b"\x1f\x8b\x08": bad.append("not gzip")
if raw[3] & 0x08: bad.append("gzip header carries a file name")
if raw[4:8] != b"\0\0\0\0": bad.append("gzip header carries a time")
want = {"": 0o755, "iotpro_exporter": 0o755, "README.md": 0o644, "CHANGELOG.md": 0o644,
        "LICENSE": 0o644, "THIRD_PARTY_NOTICES": 0o644,
        "iotpro_exporter.conf.example": 0o644, "iotpro_exporter.service": 0o644,
        "iotpro_exporter.default": 0o644}
seen = []
with tarfile.open(path) as t:
    for m in t.getmembers():
        rel = m.name[len(top) + 1:] if m.name.startswith(top + "/") else ("" if m.name == top else None)
        seen.append(m.name)
        if rel is None or rel not in want:
            bad.append("unexpected member " + m.name); continue
        if (m.isdir() != (rel == "")) or not (m.isdir() or m.isfile()): bad.append("wrong type " + m.name)
        if (m.uid, m.gid, m.uname, m.gname) != (0, 0, "", ""): bad.append(f"owner {m.uid}:{m.gid} {m.uname}:{m.gname} for {m.name}")
        if m.mtime != epoch: bad.append(f"mtime {m.mtime} != {epoch} for {m.name}")
        if m.mode != want[rel]: bad.append(f"mode {oct(m.mode)} for {m.name}")
if seen != sorted(seen): bad.append("members not in name order")
if len(seen) != len(want): bad.append(f"{len(seen)} members, want {len(want)}")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
    ); then ok "$a: archive layout, owner 0:0, mtime of the commit, modes, sorted, plain gzip"
    else fail "$a: archive layout" "$out"; fi
    x=$TEST_TMP/x-$a
    mkdir -p "$x" && tar -xzf "$tgz" -C "$x"
    same=1
    for f in README.md CHANGELOG.md LICENSE THIRD_PARTY_NOTICES deploy/iotpro_exporter.conf.example \
             deploy/systemd/iotpro_exporter.service deploy/systemd/iotpro_exporter.default; do
        cmp -s "$f" "$x/$name/$(basename "$f")" || { same=0; echo "# $a: $f differs"; }
    done
    check "$a: the documents are the repository's" test "$same" = 1
done

# --- the binaries ------------------------------------------------------------------------
for a in $ARCHS; do
    bin=$TEST_TMP/x-$a/iotpro_exporter-$VERSION.linux-$a/iotpro_exporter
    [ -f "$bin" ] || { fail "$a: binary in the archive"; continue; }
    f=$(file -b "$bin") h=$(readelf -hW "$bin") l=$(readelf -lW "$bin") d=$(readelf -dW "$bin" 2>&1)
    case $a in
        amd64) machine='Advanced Micro Devices X86-64' fre='ELF 64-bit LSB .*x86-64' ;;
        arm64) machine='AArch64' fre='ELF 64-bit LSB .*ARM aarch64' ;;
        armv7) machine='ARM' fre='ELF 32-bit LSB .*ARM, EABI5' ;;
    esac
    echo "# $a: $f"
    check "$a: file says $fre, statically linked, stripped" \
        bash -c 'grep -Eq "$1" <<<"$2" && grep -q "statically linked" <<<"$2" && grep -q ", stripped" <<<"$2"' _ "$fre" "$f"
    check "$a: readelf machine $machine" grep -Eq "Machine: +$machine\$" <<<"$h"
    check "$a: executable, no program interpreter" \
        bash -c 'grep -Eq "Type: +EXEC" <<<"$1" && ! grep -q INTERP <<<"$2"' _ "$h" "$l"
    check "$a: no dynamic section (no RPATH, RUNPATH or NEEDED)" \
        bash -c 'grep -q "no dynamic section" <<<"$1" && ! grep -Eq "RPATH|RUNPATH|NEEDED" <<<"$1"' _ "$d"
    check "$a: no symbol table left" bash -c '! readelf -SW "$1" | grep -q "\.symtab"' _ "$bin"
    if [ "$a" = armv7 ]; then
        attrs=$(readelf -A "$bin")
        check "armv7: EABI5, hard-float ABI" grep -q 'Version5 EABI, hard-float ABI' <<<"$h"
        check "armv7: Tag_CPU_arch v7, arguments in VFP registers" \
            bash -c 'grep -Eq "Tag_CPU_arch: v7$" <<<"$1" && grep -q "Tag_ABI_VFP_args: VFP registers" <<<"$1"' _ "$attrs"
    fi
    size=$(stat -c %s "$bin")
    echo "# $a: $size bytes"
    check "$a: $size bytes <= $MAX_BYTES" test "$size" -le "$MAX_BYTES"
    check "$a: no build directory in the binary" bash -c '! grep -aqF "$1" "$2"' _ "$TOP" "$bin"
done

# --- notices ---------------------------------------------------------------------------------
check "THIRD_PARTY_NOTICES is vendor/notices.sh's output (BearSSL, civetweb, jsmn)" \
    bash -c 'vendor/notices.sh | cmp -s - THIRD_PARTY_NOTICES'

# --- a second build, elsewhere ----------------------------------------------------------------
# The same sources (the working tree, vendored trees included) copied to another path and
# built from nothing must give byte-identical archives.
if [ "${DIST_REPRO:-1}" = 1 ]; then
    src=$TEST_TMP/elsewhere/iotpro
    mkdir -p "$src"
    { git ls-files -co --exclude-standard | grep -v '^tests/node_modules'
      for v in bearssl civetweb jsmn; do echo "vendor/$v"; done; } |
        tar -cf - -T - | tar -xf - -C "$src"
    t0=$(date +%s)
    if out=$(cd "$src" && DIST_VERSION=$VERSION DIST_REVISION=$REVISION SOURCE_DATE_EPOCH=$EPOCH \
             JOBS=${JOBS:-2} ./build.sh dist 2>&1); then
        dt=$(( $(date +%s) - t0 ))
        if cmp -s "$DIST/sha256sums.txt" "$src/build/dist/sha256sums.txt"; then
            ok "a second build in another directory gives identical archives (${dt} s)"
        else
            fail "a second build gives identical archives" \
                "$(diff "$DIST/sha256sums.txt" "$src/build/dist/sha256sums.txt" | tr '\n' ' ')"
        fi
    else
        fail "a second build in another directory" "$(tail -n 5 <<<"$out" | tr '\n' ' ')"
    fi
else
    skip "a second build gives identical archives" "DIST_REPRO=0"
fi
finish
