#!/usr/bin/env bash
# Installs everything package/targets/build-all.sh and tests/cross/run.sh need, on Debian 12 as root.
# Idempotent: what is already there is skipped. Prints what it skipped and why.
# Env: CHAT1C_TOOLS (default <repo>/target-tools; git-ignored) holds the zig venv and cargo-zigbuild.
#      CHAT1C_WINE32=0 skips the wine32 attempt (it adds the i386 dpkg architecture; rolled back on failure).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${CHAT1C_TOOLS:-$ROOT/target-tools}
ZIGLANG_VERSION=${ZIGLANG_VERSION:-0.17.0}   # PyPI ziglang; 0.17 built all targets with cargo-zigbuild 0.24
ZIGBUILD_VERSION=${ZIGBUILD_VERSION:-0.24.1}
t0=$SECONDS
skipped=()
note() { printf '  %s\n' "$*"; }
skip() { skipped+=("$*"); note "skip: $*"; }

# ---- Debian packages ----
# gcc-multilib gives `gcc -m32` (i686 host + /usr/include/asm); it Conflicts with Debian's
# gcc-<N>-<arch>-linux-gnu cross compilers, so aarch64 uses clang + the cross sysroot instead.
PKGS=(gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 gcc-multilib clang binutils-aarch64-linux-gnu
      libc6-dev-arm64-cross libgcc-12-dev-arm64-cross wine64 qemu-user-static python3-venv binutils)
apt_updated=0
apt_update() {
    if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi
}
missing=()
for p in "${PKGS[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        skip "apt $p: already installed"
    else
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        skip "apt ${missing[*]}: not root, cannot install (the targets that need them will be skipped)"
    else
        for p in "${missing[@]}"; do
            case $p in gcc-multilib)
                # Tell, because apt will silently remove these to satisfy the conflict.
                if dpkg -l 'gcc-*-linux-gnu' 2>/dev/null | grep -q '^ii'; then
                    note "warning: installing gcc-multilib removes Debian's gcc-*-linux-gnu cross compilers"
                fi ;;
            esac
        done
        note "apt-get install ${missing[*]}"
        apt_update
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

# ---- wine32 (to run the i686 DLL); optional ----
# Needs the i386 dpkg architecture. On some mirrors the i386 security index is stale and then
# every `apt-get update` exits 100, so the architecture is removed again if anything fails.
if [ "${CHAT1C_WINE32:-1}" = 0 ]; then
    skip "wine32: CHAT1C_WINE32=0"
elif [ -x /usr/lib/wine/wine ] || dpkg-query -W -f='${Status}' wine32:i386 2>/dev/null | grep -q 'install ok installed'; then
    skip "wine32: already installed"
elif [ "$(id -u)" != 0 ]; then
    skip "wine32: not root"
else
    had_i386=0
    dpkg --print-foreign-architectures | grep -qx i386 && had_i386=1
    [ $had_i386 = 1 ] || dpkg --add-architecture i386
    log=$(mktemp)
    if apt-get update -qq >"$log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine32:i386 >"$log" 2>&1; then
        note "installed wine32:i386"
    else
        skip "wine32: apt could not install wine32:i386 ($(grep -m1 -E '^(E|W):' "$log" | sed 's,http[^ ]*,,; s, *\[IP:.*,,' | cut -c1-160)); the i686 DLL is built and inspected but not run"
        if [ $had_i386 = 0 ]; then
            dpkg --remove-architecture i386 || true
            apt-get update -qq >/dev/null 2>&1 || true
        fi
    fi
    rm -f "$log"
fi

# ---- Rust std for the targets (rustup) ----
TARGETS=(x86_64-unknown-linux-gnu i686-unknown-linux-gnu aarch64-unknown-linux-gnu
         x86_64-pc-windows-gnu i686-pc-windows-gnu x86_64-apple-darwin aarch64-apple-darwin)
if command -v rustup >/dev/null; then
    have=$(rustup target list --installed)
    add=()
    for t in "${TARGETS[@]}"; do
        if grep -qx "$t" <<<"$have"; then skip "rustup target $t: already installed"; else add+=("$t"); fi
    done
    if [ ${#add[@]} -gt 0 ]; then
        note "rustup target add ${add[*]}"
        rustup target add "${add[@]}" || skip "rustup target add failed (dist server?): those targets will be skipped"
    fi
else
    skip "rustup targets: no rustup in PATH"
fi

# ---- zig (PyPI ziglang, in a venv) and cargo-zigbuild, both under $TOOLS ----
mkdir -p "$TOOLS"
if [ -x "$TOOLS/zigvenv/bin/python" ] && "$TOOLS/zigvenv/bin/python" -m ziglang version >/dev/null 2>&1; then
    skip "ziglang: already in $TOOLS/zigvenv ($("$TOOLS/zigvenv/bin/python" -m ziglang version))"
else
    note "pip install ziglang==$ZIGLANG_VERSION into $TOOLS/zigvenv"
    if ! { python3 -m venv "$TOOLS/zigvenv" &&
        "$TOOLS/zigvenv/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION"; }; then
        skip "ziglang: pip install failed: the glibc-2.17 Linux and macOS targets will be skipped"
    fi
fi
if [ -x "$TOOLS/bin/cargo-zigbuild" ]; then
    skip "cargo-zigbuild: already in $TOOLS/bin ($("$TOOLS/bin/cargo-zigbuild" --version))"
else
    note "cargo install --locked cargo-zigbuild@$ZIGBUILD_VERSION --root $TOOLS"
    cargo install -q --locked cargo-zigbuild --version "$ZIGBUILD_VERSION" --root "$TOOLS" ||
        skip "cargo-zigbuild: cargo install failed: the glibc-2.17 Linux and macOS targets will be skipped"
fi

echo "install-toolchains: done in $((SECONDS - t0)) s; ${#skipped[@]} skipped"
