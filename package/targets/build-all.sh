#!/usr/bin/env bash
# Builds the chat1c add-in for every client platform whose toolchain is present and copies each
# library into OUT_DIR as chat1c_<version>_<os>_<arch>.<ext> (the naming package/make_package.py
# reads; the version comes from Cargo.toml through make_package.py --version-tag).
# Usage: build-all.sh [OUT_DIR]      (default <repo>/target/package-bin)
# Env:   CARGO_TARGET_DIR (default <repo>/target-cross), CHAT1C_TOOLS (default <repo>/target-tools),
#        CHAT1C_TARGETS="linux-x86_64 windows-i386 ..." to build only some.
# Exit: 0 when every target was built or skipped for a missing toolchain; 1 when a Linux/Windows
#       build failed (macOS is best effort: a failed macOS build is reported as skipped).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/target/package-bin}
TOOLS=${CHAT1C_TOOLS:-$ROOT/target-tools}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-cross}
export CARGO_TERM_COLOR=never
# cargo-zigbuild and zig live in the git-ignored tools folder (install-toolchains.sh); the venv's
# python3 first in PATH lets cargo-zigbuild find zig through `python3 -m ziglang`.
export PATH=$TOOLS/bin:$TOOLS/zigvenv/bin:$PATH
mkdir -p "$OUT"
cd "$ROOT"
V=$(python3 package/make_package.py --version-tag)

# name  rust-triple  cargo-target-arg  how  output-file
ALL=(
  "linux-x86_64   x86_64-unknown-linux-gnu  x86_64-unknown-linux-gnu.2.17  zig    chat1c_${V}_linux_x86_64.so"
  "linux-i386     i686-unknown-linux-gnu    i686-unknown-linux-gnu.2.17    zig    chat1c_${V}_linux_i386.so"
  "linux-aarch64  aarch64-unknown-linux-gnu aarch64-unknown-linux-gnu.2.17 zig    chat1c_${V}_linux_aarch64.so"
  "windows-x86_64 x86_64-pc-windows-gnu     x86_64-pc-windows-gnu          mingw  chat1c_${V}_windows_x86_64.dll"
  "windows-i386   i686-pc-windows-gnu       i686-pc-windows-gnu            mingw  chat1c_${V}_windows_i386.dll"
  "macos-x86_64   x86_64-apple-darwin       x86_64-apple-darwin            zig    chat1c_${V}_macos_x86_64.dylib"
  "macos-arm64    aarch64-apple-darwin      aarch64-apple-darwin           zig    chat1c_${V}_macos_arm64.dylib"
)
# Glibc-versioned Linux targets: system gcc would tie the .so to glibc 2.34 and libgcc_s (cross-build.md §3).
# Windows: mingw links libgcc statically for Rust, so the DLL imports only system DLLs.
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_I686_PC_WINDOWS_GNU_LINKER=i686-w64-mingw32-gcc
# macOS: without these the minimum OS would be the SDK's newest (15.0).
macos_min() { case $1 in x86_64-apple-darwin) echo 10.13 ;; *) echo 11.0 ;; esac; }
# zig ships libSystem but no SDK frameworks; whoami (tokio-postgres) links CoreFoundation and
# SystemConfiguration, so link against the text stubs in macos-frameworks/ (the real ones load at run time).
MACOS_FRAMEWORKS=$ROOT/package/targets/macos-frameworks
# Strip what the link left despite strip = true: the DLLs keep their COFF symbol table (1.1 MB
# on x86_64), the dylibs every local symbol (0.6-0.7 MB). rustc's own rust-objcopy needs the
# toolchain's libLLVM on the library path; `-x` (local symbols only) is the level rustc uses
# for a Mach-O dylib, and llvm-objcopy rewrites the arm64 dylib's ad-hoc signature.
SYSROOT=$(rustc --print sysroot)
RUST_OBJCOPY=$SYSROOT/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-objcopy
strip_binary() {  # triple file
    case $1 in
        *windows*) "${1%%-*}-w64-mingw32-strip" --strip-all "$2" ;;
        *darwin*) LD_LIBRARY_PATH=$SYSROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$RUST_OBJCOPY" -x "$2" ;;
    esac
}
# macOS is best effort (built and inspected, never run here): its failure is reported, not fatal.
macos_why_not() {
    # notify without default features has no macOS backend unless one is chosen explicitly.
    if grep -E '^notify *=' Cargo.toml | grep -q 'default-features *= *false' &&
        ! grep -E '^notify *=' Cargo.toml | grep -q 'macos_'; then
        echo 'notify is built without a macOS backend: Cargo.toml needs notify features = ["macos_kqueue"]'
    fi
}

installed_targets=$(rustup target list --installed 2>/dev/null || true)
results=()
failed=0
for row in "${ALL[@]}"; do
    read -r name triple arg how file <<<"$row"
    if [ -n "${CHAT1C_TARGETS:-}" ] && ! grep -qw -- "$name" <<<"$CHAT1C_TARGETS"; then
        continue
    fi
    why=""
    grep -qx "$triple" <<<"$installed_targets" || why="rust std for $triple not installed (rustup target add $triple)"
    if [ -z "$why" ] && [ "$how" = zig ]; then
        command -v cargo-zigbuild >/dev/null || why="cargo-zigbuild not found (package/targets/install-toolchains.sh)"
        [ -n "$why" ] || python3 -m ziglang version >/dev/null 2>&1 || why="zig (PyPI ziglang) not found in $TOOLS/zigvenv"
    fi
    if [ -z "$why" ] && [[ $triple == *darwin* ]]; then why=$(macos_why_not); fi
    if [ -z "$why" ] && [ "$how" = mingw ]; then
        linker=${triple%%-*}-w64-mingw32-gcc
        command -v "$linker" >/dev/null || why="$linker not found (apt gcc-mingw-w64-*)"
    fi
    if [ -n "$why" ]; then
        results+=("$name: skipped: $why"); echo "== $name: skipped: $why"; continue
    fi
    case $triple in *windows*) lib=chat1c.dll ;; *darwin*) lib=libchat1c.dylib ;; *) lib=libchat1c.so ;; esac
    echo "== $name: building ($arg)"
    t0=$SECONDS
    rm -f "$CARGO_TARGET_DIR/$triple/release/$lib"
    # `rustc --crate-type cdylib`: Cargo.toml also asks for an rlib (tests, fuzzing), and with
    # an rlib among the crate types cargo silently builds the cdylib without LTO (cargo#9672):
    # 0.6 MB more per binary, and on macOS every Rust symbol exported.
    lib_only=(--release --locked -p chat1c --lib --crate-type cdylib --target "$arg")
    if [[ $triple == *darwin* ]]; then
        # Flags after `--` go to the add-in only, so the dependencies' cache stays valid.
        cmd=(cargo-zigbuild rustc "${lib_only[@]}" --
             -L "framework=$MACOS_FRAMEWORKS" -C "link-arg=-Wl,-install_name,@rpath/libchat1c.dylib")
    elif [ "$how" = zig ]; then
        cmd=(cargo-zigbuild rustc "${lib_only[@]}")
    else
        cmd=(cargo rustc "${lib_only[@]}")
    fi
    # Linux and Windows i386: SQLite's and ring's C without unwind tables (-0.09 MB on Linux,
    # -0.12 MB on Windows i386, which unwinds with DWARF tables like Linux): no Rust callback
    # runs under a C frame (no SQLite functions, hooks or collations), so no panic unwinds
    # through one. Windows x86_64 keeps them (its SEH walks every frame), macOS too (they
    # are only 4 KB there).
    # macOS: the C with hidden visibility (-0.03 MB): zig's linker exported SQLite's whole C
    # API from the dylib, which kept every API function; now only the add-in's entry points.
    c_flags=()
    case $triple in
        *linux* | i686-pc-windows-gnu)
            c_flags=("CFLAGS_${triple//-/_}=-fno-asynchronous-unwind-tables -fno-unwind-tables") ;;
        *darwin*) c_flags=("CFLAGS_${triple//-/_}=-fvisibility=hidden") ;;
    esac
    if env "${c_flags[@]}" MACOSX_DEPLOYMENT_TARGET=$(macos_min "$triple") "${cmd[@]}" && [ -f "$CARGO_TARGET_DIR/$triple/release/$lib" ] &&
        cp "$CARGO_TARGET_DIR/$triple/release/$lib" "$OUT/$file" && strip_binary "$triple" "$OUT/$file"; then
        size=$(stat -c %s "$OUT/$file")
        results+=("$name: built $file ($size bytes, $((SECONDS - t0)) s)")
    elif [[ $triple == *darwin* ]]; then
        results+=("$name: skipped: build failed after $((SECONDS - t0)) s (best effort; log above): ${cmd[*]}")
    else
        failed=$((failed + 1))
        results+=("$name: FAILED after $((SECONDS - t0)) s: ${cmd[*]}")
    fi
    echo "== ${results[-1]}"
done
echo
echo "build-all summary (into $OUT):"
printf '  %s\n' "${results[@]}"
[ $failed -eq 0 ]
