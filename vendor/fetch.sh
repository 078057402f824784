#!/usr/bin/env bash
# Fetch, verify and unpack the pinned third-party sources listed in vendor/manifest.
#
#   vendor/fetch.sh            fetch what is missing, verify everything, unpack
#   vendor/fetch.sh --verify   verify the downloaded files only (no network)
#
# Downloads come from Debian 12's archive through apt, using a private apt configuration
# under vendor/.apt/ (the system's sources.list is never touched). Every downloaded file
# must match the SHA-256 in the manifest, or nothing is unpacked. A tree that was already
# unpacked from verified files is left alone, so offline rebuilds work.
#
# Non-Debian systems: put the files named in the manifest into vendor/downloads/ by hand
# (from any Debian mirror, pool/main/<letter>/<package>/); this script then only verifies
# and unpacks them, and never calls apt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
manifest="$here/manifest"
dl="$here/downloads"
aptdir="$here/.apt"
mirror="${IOTPRO_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite="${IOTPRO_DEBIAN_SUITE:-bookworm}"

die() { echo "vendor: $*" >&2; exit 1; }

# manifest rows without comments: name pkg version how file sha256
rows() { grep -v '^[[:space:]]*#' "$manifest" | grep -v '^[[:space:]]*$'; }
names() { rows | awk '{print $1}' | sort -u; }
stamp_of() { rows | awk -v n="$1" '$1 == n'; }
# What .verified holds: the manifest rows and the unpack layout (bump it when unpack
# keeps different files, so trees unpacked before are unpacked again).
stamp() { stamp_of "$1"; echo "layout 2: headers and copyright of binary packages"; }

sha_of() { sha256sum "$1" | awk '{print $1}'; }

apt_private() {
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/etc"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -r "$keyring" ] || die "no $keyring: install debian-archive-keyring, or supply the files by hand (see vendor/fetch.sh)"
    cat > "$aptdir/etc/sources.list" <<EOF
deb [signed-by=$keyring] $mirror $suite main
deb-src [signed-by=$keyring] $mirror $suite main
EOF
    APT_OPTS=(-o "Dir::Etc::sourcelist=$aptdir/etc/sources.list"
              -o "Dir::Etc::sourceparts=/nonexistent"
              -o "Dir::State::Lists=$aptdir/lists"
              -o "Dir::Cache=$aptdir/cache"
              -o "APT::Sandbox::User=root"
              -o "Debug::NoLocking=1"
              -qq)
    if [ ! -e "$aptdir/lists/.updated" ]; then
        echo "vendor: apt-get update (private configuration in vendor/.apt)"
        apt-get "${APT_OPTS[@]}" update || die "apt-get update failed (network?)"
        touch "$aptdir/lists/.updated"
    fi
}

fetch_missing() {
    local need=0 name pkg ver how file sha
    while read -r name pkg ver how file sha; do
        [ -f "$dl/$file" ] || need=1
    done < <(rows)
    [ "$need" = 1 ] || return 0
    command -v apt-get >/dev/null || die "files missing in vendor/downloads and no apt-get: supply them by hand (see vendor/fetch.sh)"
    apt_private
    mkdir -p "$dl"
    local done_src=""
    while read -r name pkg ver how file sha; do
        [ -f "$dl/$file" ] && continue
        case "$how" in
        source)
            case " $done_src " in *" $pkg=$ver "*) continue ;; esac
            echo "vendor: apt-get source --download-only $pkg=$ver"
            (cd "$dl" && apt-get "${APT_OPTS[@]}" source --download-only "$pkg=$ver") \
                || die "could not download source package $pkg=$ver"
            done_src="$done_src $pkg=$ver" ;;
        binary)
            echo "vendor: apt-get download $pkg=$ver"
            (cd "$dl" && apt-get "${APT_OPTS[@]}" download "$pkg=$ver") \
                || die "could not download package $pkg=$ver"
            # apt names the file with an epoch-escaped version; normalise to the manifest name
            [ -f "$dl/$file" ] || mv "$dl/${pkg}_"*"_all.deb" "$dl/$file" 2>/dev/null || true ;;
        *) die "manifest: unknown kind '$how' for $file" ;;
        esac
    done < <(rows)
}

verify_all() {
    local bad=0 name pkg ver how file sha got
    while read -r name pkg ver how file sha; do
        [ -f "$dl/$file" ] || die "missing vendor/downloads/$file"
        got=$(sha_of "$dl/$file")
        if [ "$got" != "$sha" ]; then
            echo "vendor: CHECKSUM MISMATCH for $file" >&2
            echo "vendor:   expected $sha" >&2
            echo "vendor:   got      $got" >&2
            bad=1
        fi
    done < <(rows)
    [ "$bad" = 0 ] || die "refusing to use files that do not match vendor/manifest (delete them from vendor/downloads to download again)"
}

unpack() {
    local name=$1 dest="$here/$1" tmp
    if [ -f "$dest/.verified" ] && [ "$(cat "$dest/.verified")" = "$(stamp "$name")" ]; then
        return 0
    fi
    echo "vendor: unpacking $name"
    tmp=$(mktemp -d "$here/.unpack.XXXXXX")
    local pkg ver how file sha
    while read -r _ pkg ver how file sha; do
        case "$file" in
        *.orig.tar.*) tar -xf "$dl/$file" -C "$tmp" --strip-components=1 ;;
        *.debian.tar.*) tar -xf "$dl/$file" -C "$tmp" ;;
        *.deb) (cd "$tmp" && ar p "$dl/$file" data.tar.xz | tar -xJ ./usr/include "./usr/share/doc/$pkg/copyright")
               mv "$tmp/usr/include/"* "$tmp/usr/share/doc/$pkg/copyright" "$tmp/" && rm -rf "$tmp/usr" ;;
        *.dsc) ;;
        esac
    done < <(stamp_of "$name")
    # Debian's own patches, exactly as Debian builds the package.
    if [ -f "$tmp/debian/patches/series" ]; then
        while read -r p; do
            case "$p" in ''|\#*) continue ;; esac
            patch -s -p1 -d "$tmp" < "$tmp/debian/patches/$p" || die "$name: Debian patch $p does not apply"
        done < "$tmp/debian/patches/series"
    fi
    # Our own patches, if any: vendor/patches/<name>/*.patch, applied in name order.
    if [ -d "$here/patches/$name" ]; then
        for p in "$here/patches/$name"/*.patch; do
            [ -e "$p" ] || continue
            patch -s -p1 -d "$tmp" < "$p" || die "$name: patch $(basename "$p") does not apply"
        done
    fi
    stamp "$name" > "$tmp/.verified"
    rm -rf "$dest"
    mv "$tmp" "$dest"
}

case "${1:-}" in
--verify) verify_all; echo "vendor: all files match vendor/manifest"; exit 0 ;;
esac

# Fast path: every tree already unpacked from the files this manifest pins.
all_ok=1
for n in $(names); do
    [ -f "$here/$n/.verified" ] && [ "$(cat "$here/$n/.verified")" = "$(stamp "$n")" ] || all_ok=0
done
[ "$all_ok" = 1 ] && exit 0

fetch_missing
verify_all
for n in $(names); do unpack "$n"; done
echo "vendor: bearssl, civetweb and jsmn ready (checksums verified)"
