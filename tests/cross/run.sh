#!/usr/bin/env bash
# Checks the cross-built add-ins in OUT_DIR (named chat1c_<version>_<os>_<arch>.<ext>, see package/make_package.py):
#   static: each .so has GLIBC_ symbol versions <= 2.17, no libgcc_s, the five exports;
#           each .dll imports only system DLLs and exports the five functions undecorated;
#   run:    tests/cross/host.c (a minimal 1C-like host) runs the chat scenario against each library:
#           x86_64 and i386 .so natively, aarch64 .so under qemu-aarch64-static, the x86_64 DLL under
#           wine64 in a fresh temporary prefix, the i386 DLL under wine32 when it is installed.
# Usage: tests/cross/run.sh OUT_DIR      last line: "N passed, N failed, N skipped"; exit 1 on any failure.
# Env:   CHAT1C_CROSS_REQUIRED  binaries that must be present (default: the five Linux/Windows ones; "" = none).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:?usage: run.sh OUT_DIR}" && pwd)
# Names carry the version from Cargo.toml (0.2.0 -> chat1c_0_2_0_...); a binary of another version is not this build.
V=$(python3 "$HERE/../../package/make_package.py" --version-tag)
REQUIRED=${CHAT1C_CROSS_REQUIRED-"chat1c_${V}_linux_x86_64.so chat1c_${V}_linux_i386.so chat1c_${V}_linux_aarch64.so chat1c_${V}_windows_x86_64.dll chat1c_${V}_windows_i386.dll"}
GLIBC_FLOOR=2.17
EXPORTS=(GetClassNames GetClassObject DestroyObject SetPlatformCapabilities GetAttachType)
WINE64=/usr/lib/wine/wine64
WINE32=/usr/lib/wine/wine   # from wine32:i386; absent when the i386 architecture could not be installed

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chat1c-cross.XXXXXX")
cleanup() {
    # Stop the wineserver of our own temporary prefix only, then drop the prefix (~700 MB).
    if [ -d "$WORK/wineprefix" ] && [ -x /usr/lib/wine/wineserver ]; then
        WINEPREFIX=$WORK/wineprefix /usr/lib/wine/wineserver -k 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
# The hosts create their stores under TMPDIR, so everything goes with $WORK.
export TMPDIR=$WORK

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $*"; }

for f in $REQUIRED; do
    [ -f "$OUT/$f" ] || fail "$f: missing from $OUT (build-all.sh skipped or failed it)"
done

# ---------------- static checks ----------------
check_so() {
    local f=$1 name want top needed exports missing=() e
    name=$(basename "$f")
    case $name in *_x86_64.so) want="X86-64" ;; *_i386.so) want="Intel 80386" ;; *_aarch64.so) want="AArch64" ;; *) want="?" ;; esac
    if readelf -h "$f" | grep -q "Machine:.*$want\$"; then pass "$name: ELF $want"; else fail "$name: ELF machine is not $want"; fi
    # highest GLIBC_x.y the library asks for (version needs of the dynamic symbols)
    top=$(readelf -V -W "$f" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
    if [ -z "$top" ]; then
        fail "$name: no GLIBC_ symbol versions found"
    elif [ "$(printf '%s\n%s\n' "$top" "$GLIBC_FLOOR" | sort -V | tail -1)" = "$GLIBC_FLOOR" ]; then
        pass "$name: highest GLIBC_ version $top <= $GLIBC_FLOOR"
    else
        fail "$name: needs GLIBC_$top, above the $GLIBC_FLOOR floor"
    fi
    needed=$(readelf -d -W "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    if grep -q 'libgcc_s\|libstdc++' <<<"$needed"; then
        fail "$name: NEEDED has libgcc_s/libstdc++: $needed"
    else
        pass "$name: NEEDED $needed(no libgcc_s)"
    fi
    exports=$(readelf --dyn-syms -W "$f" | awk '$7 != "UND" && $5 == "GLOBAL" {print $8}')
    for e in "${EXPORTS[@]}"; do grep -qx "$e" <<<"$exports" || missing+=("$e"); done
    if [ ${#missing[@]} -eq 0 ]; then pass "$name: exports the five functions"; else fail "$name: missing exports ${missing[*]}"; fi
}

# DLLs a Windows client always has; anything else (libgcc_s_*, libwinpthread-1, libstdc++-6, ...) fails.
SYSTEM_DLLS='^(kernel32|kernelbase|ntdll|msvcrt|ucrtbase|advapi32|ws2_32|userenv|bcrypt|bcryptprimitives|crypt32|ncrypt|secur32|iphlpapi|ole32|oleaut32|shell32|shlwapi|user32|dbghelp|api-ms-win-[a-z0-9-]+)\.dll$'
check_dll() {
    local f=$1 name dump want imports bad=() d exports missing=() e
    name=$(basename "$f")
    dump=$(x86_64-w64-mingw32-objdump -p "$f")
    # file name says the arch; the PE header must agree
    case $name in *_x86_64.dll) want=pei-x86-64 ;; *) want=pei-i386 ;; esac
    if grep -q "file format $want\$" <<<"$dump"; then pass "$name: $want"; else fail "$name: not $want: $(grep -m1 'file format' <<<"$dump")"; fi
    # raw-dylib imports repeat a DLL in several import blocks: list each name once
    imports=$(sed -n 's/^\s*DLL Name: //p' <<<"$dump" | tr -d '\r' | sort -uf)
    for d in $imports; do
        grep -qiE "$SYSTEM_DLLS" <<<"$d" || bad+=("$d")
    done
    if [ ${#bad[@]} -eq 0 ]; then
        pass "$name: imports only system DLLs: $(tr '\n' ' ' <<<"$imports")"
    else
        fail "$name: imports non-system DLLs: ${bad[*]}"
    fi
    # the export name table: "[   n] Name" lines; undecorated = exactly the name (no _ prefix, no @N)
    exports=$(sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' <<<"$dump" | sed -n 's/^\s*\[ *[0-9]*\] //p')
    for e in "${EXPORTS[@]}"; do grep -qx "$e" <<<"$exports" || missing+=("$e"); done
    if [ ${#missing[@]} -eq 0 ]; then
        pass "$name: exports the five functions undecorated"
    else
        fail "$name: missing undecorated exports ${missing[*]} (has: $(tr '\n' ' ' <<<"$exports"))"
    fi
}

shopt -s nullglob
for f in "$OUT"/chat1c_"$V"_linux_*.so; do check_so "$f"; done
if command -v x86_64-w64-mingw32-objdump >/dev/null; then
    for f in "$OUT"/chat1c_"$V"_windows_*.dll; do check_dll "$f"; done
else
    for f in "$OUT"/chat1c_"$V"_windows_*.dll; do skip "$(basename "$f"): static checks need x86_64-w64-mingw32-objdump (apt binutils-mingw-w64-x86-64)"; done
fi
for f in "$OUT"/chat1c_"$V"_macos_*.dylib; do
    # Built and inspected only: nothing here runs macOS. Mach-O magic + the five exported symbols.
    name=$(basename "$f")
    magic=$(od -An -tx4 -N4 "$f" | tr -d ' ')
    cpu=$(od -An -tx4 -j4 -N4 "$f" | tr -d ' ')
    case $name in *_x86_64.dylib) want=01000007 ;; *) want=0100000c ;; esac
    nm=$(command -v llvm-nm || command -v llvm-nm-14 || true)
    if [ "$magic" != feedfacf ]; then
        fail "$name: not a 64-bit Mach-O (magic $magic)"
    elif [ "$cpu" != "$want" ]; then
        fail "$name: Mach-O cputype $cpu, expected $want"
    elif [ -z "$nm" ]; then
        skip "$name: Mach-O ok; exports not checked (no llvm-nm)"
    else
        syms=$("$nm" -gU "$f" | awk '{print $NF}')
        missing=()
        for e in "${EXPORTS[@]}"; do grep -qx "_$e" <<<"$syms" || missing+=("$e"); done
        if [ ${#missing[@]} -eq 0 ]; then pass "$name: Mach-O exporting the five functions (not run)"; else fail "$name: missing exports ${missing[*]}"; fi
    fi
done

# ---------------- the scenario under each platform ----------------
CFLAGS=(-std=c11 -D_DEFAULT_SOURCE -O1 -Wall)
# scenario LABEL LIB HOST-EXE [RUNNER...]: runs RUNNER... HOST-EXE LIB, passes on exit 0 and "0 failed"
scenario() {
    local label=$1 lib=$2 exe=$3 log=$WORK/$1.log rc=0
    shift 3
    echo "--- $label: $* $exe $lib"
    timeout 180 "$@" "$exe" "$lib" >"$log" 2>&1 || rc=$?
    sed 's/^/    /' "$log"
    if [ $rc -eq 0 ] && grep -q '^host: [0-9]* passed, 0 failed' "$log"; then
        pass "$label: scenario ($(grep '^host: ' "$log" | tail -1 | cut -d' ' -f2-))"
    else
        fail "$label: scenario (exit $rc)"
    fi
}
build() { # build LABEL CMD...  -> 0 if the compiler succeeded; else counts a failure
    local label=$1
    shift
    if "$@" >"$WORK/build-$label.log" 2>&1; then return 0; fi
    cat "$WORK/build-$label.log"
    fail "$label: could not build the C host: $*"
    return 1
}

lib=$OUT/chat1c_${V}_linux_x86_64.so
if [ -f "$lib" ]; then
    build linux-x86_64 gcc "${CFLAGS[@]}" -o "$WORK/host-x86_64" "$HERE/host.c" -ldl -pthread &&
        scenario linux-x86_64 "$lib" "$WORK/host-x86_64"
fi

lib=$OUT/chat1c_${V}_linux_i386.so
if [ -f "$lib" ]; then
    # The x86_64 kernel runs i386 code; gcc-multilib brings the 32-bit libc for the host.
    build linux-i386 gcc -m32 "${CFLAGS[@]}" -o "$WORK/host-i386" "$HERE/host.c" -ldl -pthread &&
        scenario linux-i386 "$lib" "$WORK/host-i386"
fi

lib=$OUT/chat1c_${V}_linux_aarch64.so
if [ -f "$lib" ]; then
    if ! command -v qemu-aarch64-static >/dev/null; then
        fail "linux-aarch64: qemu-aarch64-static missing (apt qemu-user-static)"
    elif [ ! -d /usr/aarch64-linux-gnu/lib ]; then
        fail "linux-aarch64: /usr/aarch64-linux-gnu missing (apt libc6-dev-arm64-cross)"
    else
        # clang + Debian's arm64 cross sysroot (gcc-aarch64-linux-gnu would conflict with gcc-multilib)
        build linux-aarch64 clang --target=aarch64-linux-gnu "${CFLAGS[@]}" -o "$WORK/host-aarch64" "$HERE/host.c" -ldl -pthread &&
            scenario linux-aarch64 "$lib" "$WORK/host-aarch64" qemu-aarch64-static -L /usr/aarch64-linux-gnu
    fi
fi

# Windows: a fresh prefix in $WORK, the bcryptprimitives.dll stand-in in it, no display (WINEDEBUG=-all).
export WINEDEBUG=-all WINEPREFIX=$WORK/wineprefix WINEDLLOVERRIDES="mscoree,mshtml="
wine_prefix() {
    [ -d "$WINEPREFIX/drive_c/windows/system32" ] && return 0
    local t0=$SECONDS
    "$WINE64" wineboot --init >"$WORK/wineboot.log" 2>&1 || { cat "$WORK/wineboot.log"; return 1; }
    echo "    (fresh wine prefix in $((SECONDS - t0)) s)"
}
win_run() { # win_run LABEL ARCH(x86_64|i686) WINE DLL
    local label=$1 arch=$2 wine=$3 dll=$4 dir=$WORK/$1 sysdir
    mkdir -p "$dir"
    build "$label" "$arch-w64-mingw32-gcc" "${CFLAGS[@]}" -o "$dir/host.exe" "$HERE/host.c" || return 0
    build "$label-bcryptprimitives" "$arch-w64-mingw32-gcc" -O2 -shared -Wl,--kill-at -o "$dir/bcryptprimitives.dll" \
        "$HERE/bcryptprimitives.c" -ladvapi32 || return 0
    wine_prefix || { fail "$label: wineboot failed"; return 0; }
    # 64-bit DLLs live in system32, 32-bit ones in syswow64 of a 64-bit prefix
    if [ "$arch" = x86_64 ]; then sysdir=system32; else sysdir=syswow64; fi
    mkdir -p "$WINEPREFIX/drive_c/windows/$sysdir"
    cp "$dir/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/$sysdir/"
    cp "$dll" "$dir/"
    # LoadLibrary finds the DLL next to host.exe by its plain name.
    scenario "$label" "$(basename "$dll")" ./host.exe env -C "$dir" "$wine"
}

dll=$OUT/chat1c_${V}_windows_x86_64.dll
if [ -f "$dll" ]; then
    if [ -x "$WINE64" ] && command -v x86_64-w64-mingw32-gcc >/dev/null; then
        win_run windows-x86_64 x86_64 "$WINE64" "$dll"
    else
        fail "windows-x86_64: needs $WINE64 (apt wine64) and x86_64-w64-mingw32-gcc"
    fi
fi
dll=$OUT/chat1c_${V}_windows_i386.dll
if [ -f "$dll" ]; then
    if [ -x "$WINE32" ] && command -v i686-w64-mingw32-gcc >/dev/null; then
        win_run windows-i386 i686 "$WINE32" "$dll"
    else
        skip "windows-i386: not run: wine32 (wine32:i386) is not installed — install-toolchains.sh could not get the i386 packages; the DLL passed the static checks above"
    fi
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
