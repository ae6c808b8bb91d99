#!/usr/bin/env python3
"""Build (and verify) the 1C add-in package: one zip with MANIFEST.XML at its root
plus every built binary, for a common template of type "Внешняя компонента".

Binary naming (inside the zip and in --bin-dir):  chat1c_<version>_<os>_<arch>.<ext>, the
version from the root Cargo.toml with dots as underscores, e.g. for 0.2.0:
    chat1c_0_2_0_windows_x86_64.dll   chat1c_0_2_0_windows_i386.dll
    chat1c_0_2_0_linux_x86_64.so      chat1c_0_2_0_linux_i386.so      chat1c_0_2_0_linux_aarch64.so
    chat1c_0_2_0_macos_x86_64.dylib   chat1c_0_2_0_macos_arm64.dylib
A new version is a new file name, so 1C never serves a library it cached from an older
template under the new one. The set and order come from the repository's manifest.xml (the
template, paths written with {version}). In --bin-dir the arch part may also be spelled
i686/x86, amd64/x64, arm64/aarch64; the zip always uses the template's name.

Usage:
    make_package.py [--bin-dir DIR]... [--target-dir DIR [--profile release] [--host-build]]
                    [--template manifest.xml] [--out dist/chat1c.zip] [--manifest-out FILE] [--no-verify]
    make_package.py --verify ZIP        # check an existing package (sizes too), exit 1 on any problem
    make_package.py --version-tag       # print the version part of the names (0_2_0), for shell scripts
--target-dir reads cargo outputs target/<triple>/<profile>/{libchat1c.so,chat1c.dll,libchat1c.dylib};
--host-build also takes target/<profile>/ (a build without --target) for this machine's os/arch. Exit code: 0 ok, 1 verification failed, 2 usage/no binaries.
"""

import argparse
import os
import platform
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import binfmt  # noqa: E402

NS = "http://v8.1c.ru/8.2/addin/bundle"
REQUIRED_EXPORTS = ("GetClassNames", "GetClassObject", "DestroyObject", "SetPlatformCapabilities", "GetAttachType")
MANIFEST_NAME = "MANIFEST.XML"
OS_VALUES = ("Windows", "Linux", "MacOS")
ARCH_VALUES = ("i386", "x86_64", "ARM64", "Universal")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TEMPLATE = os.path.join(REPO, "manifest.xml")
CARGO_TOML = os.path.join(REPO, "Cargo.toml")
# chat1c_<major>_<minor>_<patch>_<os>_<arch>.<ext>: what every binary in a package is called.
VERSIONED_NAME = re.compile(r"^chat1c_(\d+_\d+_\d+)_(windows|linux|macos)_[a-z0-9_]+\.(dll|so|dylib)$")

# Sizes, in decimal megabytes as the Scale issue counts them: each binary and the whole zip
# (1C copies the zip into the configuration and unpacks a binary on every client). The goal is
# printed beside each size; only the ceiling fails the check. It stops a regression such as
# a build without LTO (+0.6 MB a binary) or an unstripped dylib (+4 MB), not a missed goal.
GOAL_BINARY_BYTES = 3_000_000
GOAL_ZIP_BYTES = 10_000_000
MAX_BINARY_BYTES = 4_000_000
MAX_ZIP_BYTES = 14_000_000

# Rust target triple (without a zigbuild ".2.17" glibc suffix) -> (os, arch)
TRIPLES = {
    "x86_64-unknown-linux-gnu": ("Linux", "x86_64"),
    "i686-unknown-linux-gnu": ("Linux", "i386"),
    "aarch64-unknown-linux-gnu": ("Linux", "ARM64"),
    "x86_64-pc-windows-gnu": ("Windows", "x86_64"),
    "x86_64-pc-windows-msvc": ("Windows", "x86_64"),
    "i686-pc-windows-gnu": ("Windows", "i386"),
    "i686-pc-windows-msvc": ("Windows", "i386"),
    "x86_64-apple-darwin": ("MacOS", "x86_64"),
    "aarch64-apple-darwin": ("MacOS", "ARM64"),
}
CARGO_LIB_NAME = {"Linux": "libchat1c.so", "Windows": "chat1c.dll", "MacOS": "libchat1c.dylib"}
ARCH_ALIASES = {"i386": ("i386", "i686", "x86"), "x86_64": ("x86_64", "amd64", "x64"),
                "ARM64": ("aarch64", "arm64"), "Universal": ("universal",)}


def crate_version(cargo_toml=CARGO_TOML):
    """The add-in's version: the one place it is kept is the [package] table of Cargo.toml."""
    section = None
    with open(cargo_toml, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\s*\[([^\]]+)\]", line)
            if m:
                section = m.group(1).strip()
            m = re.match(r'^\s*version\s*=\s*"([^"]+)"', line)
            if m and section == "package":
                return m.group(1)
    raise SystemExit("%s: no [package] version" % cargo_toml)


def version_tag(version=None):
    """0.2.0 -> 0_2_0, the form the version takes in binary names."""
    return (version or crate_version()).replace(".", "_")


def read_template(path, version=None):
    """[(os, arch, path)] from the template manifest, in its order, {version} filled in."""
    root = ET.parse(path).getroot()
    if root.tag != "{%s}bundle" % NS:
        raise SystemExit("template %s: root must be {%s}bundle, got %s" % (path, NS, root.tag))
    tag = version_tag(version)
    return [(c.get("os"), c.get("arch"), c.get("path").replace("{version}", tag))
            for c in root.findall("{%s}component" % NS)]


def candidate_names(os_name, arch, canonical):
    """Names under which a --bin-dir may hold this binary: the canonical one, then arch aliases
    (same version: a binary of another version is never packed under this one's name)."""
    ext = os.path.splitext(canonical)[1]
    m = re.match(r"^chat1c_\d+_\d+_\d+_", canonical)
    prefix = m.group(0) if m else "chat1c_"
    names = [canonical]
    for a in ARCH_ALIASES.get(arch, ()):
        n = "%s%s_%s%s" % (prefix, os_name.lower(), a, ext)
        if n not in names:
            names.append(n)
    return names


def host_triple_key():
    m = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "i686": "i386", "i386": "i386",
            "aarch64": "ARM64", "arm64": "ARM64"}.get(m)
    osn = {"Linux": "Linux", "Windows": "Windows", "Darwin": "MacOS"}.get(platform.system())
    return (osn, arch) if osn and arch else None


def collect(template, bin_dirs, target_dir, profile, host_build=False):
    """{(os, arch): source file} for every template entry that has a built binary."""
    found = {}

    def put(key, src):
        if key in found and os.path.realpath(found[key]) != os.path.realpath(src):
            raise SystemExit("two binaries for %s/%s: %s and %s" % (key + (found[key], src)))
        found[key] = src

    keys = {(o, a) for o, a, _ in template}
    for d in bin_dirs + ([target_dir] if target_dir else []):
        if not os.path.isdir(d):
            raise SystemExit("not a directory: %s" % d)  # a typo must not yield a smaller package
    for d in bin_dirs:
        for o, a, p in template:
            for n in candidate_names(o, a, p):
                f = os.path.join(d, n)
                if os.path.isfile(f):
                    put((o, a), f)
    if target_dir:
        for triple_dir in sorted(os.listdir(target_dir)):
            key = TRIPLES.get(triple_dir)
            if key and key in keys:
                f = os.path.join(target_dir, triple_dir, profile, CARGO_LIB_NAME[key[0]])
                if os.path.isfile(f):
                    put(key, f)
        # A plain `cargo build` puts the host-platform library directly under target/<profile>/.
        # Opt-in only: a release package wants the explicit --target build (e.g. glibc 2.17 floor).
        key = host_triple_key()
        if host_build and key in keys and key not in found:
            f = os.path.join(target_dir, profile, CARGO_LIB_NAME[key[0]])
            if os.path.isfile(f):
                put(key, f)
    return found


def manifest_xml(entries):
    """MANIFEST.XML text for [(os, arch, path)]."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<bundle xmlns="%s">' % NS]
    for o, a, p in entries:
        lines.append('\t<component os="%s" path="%s" type="native" arch="%s"/>' % (o, p, a))
    lines.append("</bundle>")
    return "\n".join(lines) + "\n"


def check_binary(data, os_name, arch):
    """Problems (list of str) with one binary against its manifest os/arch."""
    try:
        info = binfmt.parse(data)
    except (binfmt.FormatError, struct.error, IndexError) as e:
        return ["cannot parse: %s" % e]
    problems = []
    want_fmt = binfmt.FORMAT_OF_OS.get(os_name)
    if info.format != want_fmt:
        problems.append("format %s, but os=%s needs %s" % (info.format, os_name, want_fmt))
    if arch == "Universal":
        if not {"x86_64", "ARM64"} <= set(info.archs):
            problems.append("arch=Universal needs x86_64 and ARM64 slices, has %s" % info.archs)
    elif info.archs != [arch]:
        problems.append("machine %s, but arch=%s" % (",".join(info.archs), arch))
    if not info.is_library:
        problems.append("not a shared library")
    missing = [f for f in REQUIRED_EXPORTS if f not in info.exports]
    if missing:
        problems.append("does not export %s" % ", ".join(missing))
    return problems


def mb(n):
    return "%.2f MB" % (n / 1e6)


def sizes(path):
    """[(name, bytes, goal, ceiling)] for the zip itself and each binary in it, zip first."""
    rows = [(os.path.basename(path), os.path.getsize(path), GOAL_ZIP_BYTES, MAX_ZIP_BYTES)]
    with zipfile.ZipFile(path) as z:
        rows += [(i.filename, i.file_size, GOAL_BINARY_BYTES, MAX_BINARY_BYTES)
                 for i in z.infolist() if i.filename != MANIFEST_NAME]
    return rows


def size_problems(path):
    """The zip or a binary over its size ceiling."""
    return ["%s: %s (%d bytes), over the %s ceiling" % (n, mb(b), b, mb(lim))
            for n, b, _, lim in sizes(path) if b > lim]


def verify_zip(path, check_sizes=True):
    """Every problem found in a package zip (empty list = good). check_sizes=False skips the size
    budget (for a zip of a plain `cargo build`, which has no LTO; see package/targets/build-all.sh)."""
    problems = size_problems(path) if check_sizes else []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        if MANIFEST_NAME not in names:
            return ["%s missing at the zip root (have: %s)" % (MANIFEST_NAME, names)]
        try:
            root = ET.fromstring(z.read(MANIFEST_NAME))
        except ET.ParseError as e:
            return ["%s is not XML: %s" % (MANIFEST_NAME, e)]
        if root.tag != "{%s}bundle" % NS:
            problems.append("root element %s, want {%s}bundle" % (root.tag, NS))
        comps = root.findall("{%s}component" % NS)
        if not comps:
            problems.append("manifest lists no component")
        seen, listed = set(), set()
        for c in comps:
            o, a, p, t = c.get("os"), c.get("arch"), c.get("path"), c.get("type")
            where = "component %s/%s %s" % (o, a, p)
            if o not in OS_VALUES:
                problems.append("%s: os must be one of %s" % (where, OS_VALUES))
            if a not in ARCH_VALUES:
                problems.append("%s: arch must be one of %s" % (where, ARCH_VALUES))
            if t != "native":
                problems.append('%s: type must be "native", is %r' % (where, t))
            if (o, a) in seen:
                problems.append("%s: duplicate os/arch" % where)
            seen.add((o, a))
            if not p or p not in names:
                problems.append("%s: file not in the zip" % where)
                continue
            listed.add(p)
            problems += ["%s: %s" % (where, x) for x in check_binary(z.read(p), o, a)]
        extra = [n for n in names if n != MANIFEST_NAME and n not in listed]
        if extra:
            problems.append("files in the zip but not in the manifest: %s" % extra)
        problems += name_problems([c.get("path") or "" for c in comps])
    return problems


def name_problems(paths):
    """Every binary must be named chat1c_<version>_<os>_<arch>.<ext>, all with one version:
    an unversioned or mixed package would let 1C keep serving a cached older library."""
    versions = set()
    problems = []
    for p in paths:
        m = VERSIONED_NAME.match(p)
        if m:
            versions.add(m.group(1))
        else:
            problems.append("%s: name must be chat1c_<version>_<os>_<arch>.<ext>" % p)
    if len(versions) > 1:
        problems.append("binaries of different versions in one package: %s" % sorted(versions))
    return problems


def build(template_path, bin_dirs, target_dir, profile, out, manifest_out=None, verify=True, host_build=False):
    template = read_template(template_path)
    found = collect(template, bin_dirs, target_dir, profile, host_build)
    entries = [(o, a, p) for o, a, p in template if (o, a) in found]
    if not entries:
        raise SystemExit("no binaries found: --bin-dir needs files named like %s; --target-dir needs "
                         "<triple>/%s/{libchat1c.so,chat1c.dll,libchat1c.dylib} (or --host-build)"
                         % (template[0][2], profile))
    if verify:
        bad = []
        for o, a, p in entries:
            with open(found[(o, a)], "rb") as f:
                bad += ["%s (%s): %s" % (p, found[(o, a)], x) for x in check_binary(f.read(), o, a)]
        if bad:
            raise VerifyFailed(bad)
    text = manifest_xml(entries)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    # Deflate at level 9 (zlib's best; any ZIP reader inflates it): 29 KB less than the default 6.
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(MANIFEST_NAME, text)
        for o, a, p in entries:
            z.write(found[(o, a)], p)
    os.replace(tmp, out)
    if manifest_out:
        with open(manifest_out, "w", encoding="utf-8") as f:
            f.write(text)
    skipped = [p for o, a, p in template if (o, a) not in found]
    return entries, skipped


class VerifyFailed(Exception):
    pass


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build or verify the chat1c add-in zip for a 1C template.")
    ap.add_argument("--bin-dir", action="append", default=[], help="directory with chat1c_<os>_<arch>.<ext> files")
    ap.add_argument("--target-dir", help="cargo target directory to take target/<triple>/<profile>/ libraries from")
    ap.add_argument("--profile", default="release")
    ap.add_argument("--host-build", action="store_true",
                    help="also take target/<profile>/ (no --target) as the build for this machine's os/arch")
    ap.add_argument("--template", default=DEFAULT_TEMPLATE)
    ap.add_argument("--out", default=os.path.join(REPO, "dist", "chat1c.zip"))
    ap.add_argument("--manifest-out", help="also write the generated MANIFEST.XML here")
    ap.add_argument("--no-verify", action="store_true", help="skip the format/arch/exports check before zipping")
    ap.add_argument("--verify", metavar="ZIP", help="only verify an existing package")
    ap.add_argument("--version-tag", action="store_true",
                    help="print the version part of the binary names (from Cargo.toml) and exit")
    args = ap.parse_args(argv)
    if args.version_tag:
        print(version_tag())
        return 0
    if args.verify:
        problems = verify_zip(args.verify)
        for n, b, goal, lim in sizes(args.verify):
            print("size %-36s %9s  goal %s (%.2fx)  ceiling %s%s" % (
                n, mb(b), mb(goal), b / goal, mb(lim), "  OVER" if b > lim else ""))
        sys.stdout.flush()  # the sizes before the FAIL lines on stderr
        for p in problems:
            print("FAIL:", p, file=sys.stderr)
        if not problems:
            with zipfile.ZipFile(args.verify) as z:
                print("ok: %s (%s)" % (args.verify, ", ".join(n for n in z.namelist() if n != MANIFEST_NAME)))
        return 1 if problems else 0
    if not args.bin_dir and not args.target_dir:
        ap.error("give --bin-dir and/or --target-dir (or --verify ZIP)")
    try:
        entries, skipped = build(args.template, args.bin_dir, args.target_dir, args.profile,
                                 args.out, args.manifest_out, not args.no_verify, args.host_build)
    except VerifyFailed as e:
        for p in e.args[0]:
            print("FAIL:", p, file=sys.stderr)
        return 1
    except SystemExit as e:
        print("error:", e, file=sys.stderr)
        return 2
    for o, a, p in entries:
        print("packed  %-7s %-9s %s" % (o, a, p))
    for p in skipped:
        print("skipped %s (not built)" % p)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
