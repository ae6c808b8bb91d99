"""Tests for the add-in package: binary readers, make_package.py and the produced zip.

Run from the repo root:  python3 -m unittest discover -s package -v
                     or:  python3 package/test_package.py -v
Env:  CHAT1C_PACKAGE_ZIP=dist/chat1c.zip  also verifies that already built package (build.sh package);
      CHAT1C_LIB=path/to/libchat1c.so     the real add-in to package (default: target*/release/libchat1c.so).
Fixture libraries are built with cc / x86_64-w64-mingw32-gcc / i686-w64-mingw32-gcc when present
(skipped with a message otherwise); Mach-O fixtures are synthesised, since no Apple linker runs here.
"""

import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import binfmt  # noqa: E402
import make_package as mp  # noqa: E402

FIVE = mp.REQUIRED_EXPORTS
V = mp.version_tag()  # e.g. 0_2_0: every binary name carries it


def vname(rest):
    """chat1c_<version>_<rest>: a binary name of this build."""
    return "chat1c_%s_%s" % (V, rest)

C_SRC = r"""
#ifdef _WIN32
#define EXP __declspec(dllexport)
#else
#define EXP __attribute__((visibility("default")))
#endif
int puts(const char*); /* declared, not included: -m32 builds have no 32-bit libc headers here */
EXP const void* GetClassNames(void) { return 0; }
EXP long GetClassObject(const void* n, void** o) { (void)n; (void)o; return 0; }
EXP long DestroyObject(void** p) { (void)p; return 0; }
EXP int SetPlatformCapabilities(int c) { return c; }
#ifndef NO_ATTACH
EXP int GetAttachType(void) { return 3; }
#endif
static int hidden_helper(void) { return 1; }
EXP int exported_data = 1; /* a data symbol: exported, but not a function */
EXP int uses_import(void) { return puts("x") + hidden_helper(); }
"""

TOOLCHAINS = {  # (os, arch) -> compiler command prefix
    ("Linux", "x86_64"): ["cc", "-shared", "-fPIC", "-fvisibility=hidden", "-O1"],
    ("Linux", "i386"): ["cc", "-m32", "-nostdlib", "-shared", "-fPIC", "-fvisibility=hidden", "-O1"],
    ("Windows", "x86_64"): ["x86_64-w64-mingw32-gcc", "-shared", "-O1"],
    ("Windows", "i386"): ["i686-w64-mingw32-gcc", "-shared", "-O1"],
}


def macho(cputype, names, undefined=("_dlopen",), filetype=6, big_endian=False):
    """A minimal 64-bit Mach-O with one LC_SYMTAB: exported (N_SECT|N_EXT) `names`
    (given without the leading underscore) plus undefined imports that must not count."""
    e = ">" if big_endian else "<"
    strtab = b"\0"
    syms = []
    for n in names:
        syms.append((len(strtab), 0x0F, 1))  # N_SECT|N_EXT, section 1
        strtab += b"_" + n.encode() + b"\0"
    for n in undefined:
        syms.append((len(strtab), 0x01, 0))  # N_UNDF|N_EXT: an import
        strtab += n.encode() + b"\0"
    syms.append((len(strtab), 0x0E, 1))  # N_SECT without N_EXT: a local symbol
    strtab += b"_local_helper\0"
    hdr = 32
    cmd = 24
    symoff = hdr + cmd
    nsize = 16
    stroff = symoff + nsize * len(syms)
    magic = 0xFEEDFACF
    out = struct.pack(e + "IiiIIIII", magic, cputype, 3, filetype, 1, cmd, 0, 0)
    out += struct.pack(e + "IIIIII", 2, cmd, symoff, len(syms), stroff, len(strtab))
    for strx, typ, sect in syms:
        out += struct.pack(e + "IBBHQ", strx, typ, sect, 0, 0x1000)
    return out + strtab


def fat(*slices):
    """A universal (fat) Mach-O from thin slices."""
    off = 4096
    head = struct.pack(">II", 0xCAFEBABE, len(slices))
    body = b""
    for s in slices:
        cputype = struct.unpack_from("<i", s, 4)[0]
        head += struct.pack(">iiIII", cputype, 3, off + len(body), len(s), 12)
        body += s + b"\0" * (-len(s) % 4096)
    return head + b"\0" * (off - len(head)) + body


MACHO_X64, MACHO_ARM64 = 0x01000007, 0x0100000C


class Fixtures:
    """Builds the fixture libraries once per run into a temp dir."""
    dir = None
    built = {}      # (os, arch) -> path of a library exporting all five
    partial = {}    # (os, arch) -> path of a library without GetAttachType
    notes = []

    @classmethod
    def setup(cls):
        if cls.dir:
            return
        cls.dir = tempfile.mkdtemp(prefix="chat1c-pkg-")
        src = os.path.join(cls.dir, "fake.c")
        with open(src, "w") as f:
            f.write(C_SRC)
        for key, cc in TOOLCHAINS.items():
            if not shutil.which(cc[0]):
                cls.notes.append("no %s: %s/%s fixture skipped" % (cc[0], *key))
                continue
            ext = {"Linux": ".so", "Windows": ".dll"}[key[0]]
            full = os.path.join(cls.dir, "full_%s_%s%s" % (key + (ext,)))
            part = os.path.join(cls.dir, "part_%s_%s%s" % (key + (ext,)))
            r1 = subprocess.run(cc + ["-o", full, src], capture_output=True, text=True)
            r2 = subprocess.run(cc + ["-DNO_ATTACH", "-o", part, src], capture_output=True, text=True)
            if r1.returncode or r2.returncode:
                cls.notes.append("%s/%s fixture not buildable (%s): %s" % (
                    key + (" ".join(cc[:2]), (r1.stderr or r2.stderr).strip().splitlines()[-1:])))
                continue
            cls.built[key], cls.partial[key] = full, part
        for key, data in {("MacOS", "x86_64"): macho(MACHO_X64, FIVE),
                          ("MacOS", "ARM64"): macho(MACHO_ARM64, FIVE)}.items():
            p = os.path.join(cls.dir, "full_%s_%s.dylib" % key)
            with open(p, "wb") as f:
                f.write(data)
            cls.built[key] = p
        for n in cls.notes:
            print("note:", n, file=sys.stderr)

    @classmethod
    def bin_dir(cls, keys):
        """A fresh --bin-dir holding the fixtures for `keys` under their canonical names."""
        d = tempfile.mkdtemp(dir=cls.dir)
        names = {(o, a): p for o, a, p in mp.read_template(mp.DEFAULT_TEMPLATE)}
        for k in keys:
            shutil.copy(cls.built[k], os.path.join(d, names[k]))
        return d


def setUpModule():
    Fixtures.setup()


def tearDownModule():
    if Fixtures.dir:
        shutil.rmtree(Fixtures.dir, ignore_errors=True)


def zip_manifest(path):
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("MANIFEST.XML"))
        return ([(c.get("os"), c.get("arch"), c.get("path"), c.get("type")) for c in root], sorted(z.namelist()))


class TemplateTest(unittest.TestCase):
    def test_template_lists_the_desktop_set_with_the_naming_scheme(self):
        t = mp.read_template(mp.DEFAULT_TEMPLATE)
        self.assertEqual(sorted((o, a) for o, a, _ in t), sorted([
            ("Windows", "x86_64"), ("Windows", "i386"), ("Linux", "x86_64"), ("Linux", "i386"),
            ("Linux", "ARM64"), ("MacOS", "x86_64"), ("MacOS", "ARM64")]))
        ext = {"Windows": ".dll", "Linux": ".so", "MacOS": ".dylib"}
        for o, a, p in t:
            self.assertIn(p, mp.candidate_names(o, a, vname("%s_%s%s" % (o.lower(), a, ext[o]))), p)
            self.assertTrue(p.startswith(vname(o.lower() + "_")) and p.endswith(ext[o]), p)
        self.assertEqual(mp.name_problems([p for _, _, p in t]), [])
        root = ET.parse(mp.DEFAULT_TEMPLATE).getroot()
        self.assertTrue(all(c.get("type") == "native" for c in root))
        self.assertTrue(all(c.get("path").startswith("chat1c_{version}_") for c in root),
                        "the template takes the version from Cargo.toml, not a copy")


class VersionTest(unittest.TestCase):
    """The version lives in Cargo.toml; every other copy must agree with it."""

    def test_version_comes_from_the_package_table(self):
        with open(os.path.join(REPO, "Cargo.toml"), encoding="utf-8") as f:
            text = f.read()
        want = re.search(r'\[package\][^\[]*?\nversion\s*=\s*"([^"]+)"', text).group(1)
        self.assertEqual(mp.crate_version(), want)
        self.assertEqual(V, want.replace(".", "_"))
        d = tempfile.mkdtemp(dir=Fixtures.dir)
        toml = os.path.join(d, "Cargo.toml")
        with open(toml, "w") as f:
            f.write('[workspace]\nversion = "9.9.9"\n[package]\nname = "x"\nversion = "1.20.3"\n[dependencies]\nversion = "0"\n')
        self.assertEqual(mp.version_tag(mp.crate_version(toml)), "1_20_3")

    def test_the_kit_expects_this_version(self):
        # ЧатКлиент compares the component's Версия with ВерсияКомпоненты(); a stale copy there
        # would tell every user of a correct package to restart for nothing.
        with open(os.path.join(REPO, "package", "bsl", "ЧатКлиент.bsl"), encoding="utf-8-sig") as f:
            bsl = f.read()
        m = re.search(r'Функция ВерсияКомпоненты\(\) Экспорт\s+Возврат "([^"]+)";', bsl)
        self.assertIsNotNone(m, "ВерсияКомпоненты() not found in ЧатКлиент.bsl")
        self.assertEqual(m.group(1), mp.crate_version())

    def test_docs_name_the_binaries_of_this_version(self):
        for doc in ("README.md", os.path.join("docs", "ru", "README.md")):
            with open(os.path.join(REPO, doc), encoding="utf-8") as f:
                text = f.read()
            names = re.findall(r"chat1c_(?:\d+_\d+_\d+_)?(?:windows|linux|macos)_[a-z0-9_*]+\.(?:dll|so|dylib)", text)
            self.assertTrue(names, doc + " names no binary")
            stale = [n for n in names if not n.startswith(vname(""))]
            self.assertEqual(stale, [], doc + " names binaries of another (or no) version")

    def test_a_binary_of_another_version_is_not_packed(self):
        key = ("MacOS", "x86_64")
        d = tempfile.mkdtemp(dir=Fixtures.dir)
        shutil.copy(Fixtures.built[key], os.path.join(d, "chat1c_macos_x86_64.dylib"))
        shutil.copy(Fixtures.built[key], os.path.join(d, "chat1c_0_0_1_macos_x86_64.dylib"))
        with self.assertRaises(SystemExit):
            mp.build(mp.DEFAULT_TEMPLATE, [d], None, "release", os.path.join(d, "chat1c.zip"))


class ParserTest(unittest.TestCase):
    def check_fixture(self, key, fmt):
        if key not in Fixtures.built:
            self.skipTest("no fixture for %s/%s" % key)
        info = binfmt.parse_file(Fixtures.built[key])
        self.assertEqual(info.format, fmt)
        self.assertEqual(info.archs, [key[1]])
        self.assertTrue(info.is_library)
        for f in FIVE:
            self.assertIn(f, info.exports)
        # Exports only: an import (puts) and a static function must not be reported.
        self.assertNotIn("puts", info.exports)
        self.assertNotIn("hidden_helper", info.exports)
        self.assertNotIn("exported_data", info.exports)
        part = binfmt.parse_file(Fixtures.partial[key]) if key in Fixtures.partial else None
        if part:
            self.assertNotIn("GetAttachType", part.exports)
            self.assertIn("GetClassNames", part.exports)

    def test_elf_x86_64(self):
        self.check_fixture(("Linux", "x86_64"), "ELF")

    def test_elf_i386(self):
        self.check_fixture(("Linux", "i386"), "ELF")

    def test_pe_x86_64(self):
        self.check_fixture(("Windows", "x86_64"), "PE")

    def test_pe_i386(self):
        self.check_fixture(("Windows", "i386"), "PE")

    def test_elf_matches_nm(self):
        # Cross-check the hand-written .dynsym reader against binutils when it is installed.
        key = ("Linux", "x86_64")
        if key not in Fixtures.built or not shutil.which("nm"):
            self.skipTest("needs cc and nm")
        out = subprocess.run(["nm", "-D", "--defined-only", Fixtures.built[key]], capture_output=True, text=True).stdout
        nm_funcs = {ln.split()[-1] for ln in out.splitlines() if ln.split()[1:2] in (["T"], ["W"])}
        self.assertEqual(nm_funcs, binfmt.parse_file(Fixtures.built[key]).exports)

    def test_pe_matches_objdump(self):
        key = ("Windows", "x86_64")
        tool = shutil.which("x86_64-w64-mingw32-objdump")
        if key not in Fixtures.built or not tool:
            self.skipTest("needs mingw gcc and objdump")
        out = subprocess.run([tool, "-p", Fixtures.built[key]], capture_output=True, text=True).stdout
        # objdump -p prints the export name table as lines "[   n] +base[ m] 0xNN Name"
        names = {ln.split()[-1] for ln in out.split("[Ordinal/Name Pointer] Table")[-1].splitlines()
                 if ln.strip().startswith("[")}
        # objdump lists every named export; ours are the functions among them.
        self.assertEqual(names - {"exported_data"}, binfmt.parse_file(Fixtures.built[key]).exports)
        self.assertIn("exported_data", names)

    def test_macho_thin_and_fat(self):
        x = binfmt.parse(macho(MACHO_X64, FIVE))
        self.assertEqual((x.format, x.archs, x.is_library), ("Mach-O", ["x86_64"], True))
        self.assertEqual(x.exports, set(FIVE))  # import and local excluded, "_" prefix dropped
        be = binfmt.parse(macho(MACHO_ARM64, FIVE, big_endian=True))
        self.assertEqual(be.archs, ["ARM64"])
        u = binfmt.parse(fat(macho(MACHO_X64, FIVE), macho(MACHO_ARM64, FIVE[:4])))
        self.assertEqual(u.archs, ["x86_64", "ARM64"])
        self.assertNotIn("GetAttachType", u.exports)  # missing from one slice = not exported
        self.assertFalse(binfmt.parse(macho(MACHO_X64, FIVE, filetype=2)).is_library)  # MH_EXECUTE

    def test_garbage_is_rejected(self):
        for data in (b"", b"hello world", b"\x7fELF\x02\x01", b"MZ" + b"\0" * 100):
            with self.assertRaises((binfmt.FormatError, struct.error, IndexError)):
                binfmt.parse(data)
        self.assertTrue(mp.check_binary(b"MZ" + b"\0" * 100, "Windows", "x86_64"))


class CheckBinaryTest(unittest.TestCase):
    """check_binary must fail on each kind of mislabelling: these are what keep the test honest."""

    def any_fixture(self, fmt_os):
        for k, p in Fixtures.built.items():
            if k[0] == fmt_os:
                with open(p, "rb") as f:
                    return k, f.read()
        self.skipTest("no %s fixture" % fmt_os)

    def test_good_fixtures_pass(self):
        for (o, a), p in Fixtures.built.items():
            with open(p, "rb") as f:
                self.assertEqual(mp.check_binary(f.read(), o, a), [], p)

    def test_wrong_arch_fails(self):
        (o, a), data = self.any_fixture("Linux")
        other = "ARM64" if a != "ARM64" else "x86_64"
        self.assertTrue(any("machine" in x for x in mp.check_binary(data, o, other)))

    def test_wrong_os_fails(self):
        (o, a), data = self.any_fixture("Linux")
        self.assertTrue(any("format ELF" in x for x in mp.check_binary(data, "Windows", a)))
        (o, a), data = self.any_fixture("MacOS")
        self.assertTrue(any("format Mach-O" in x for x in mp.check_binary(data, "Linux", a)))

    def test_missing_export_fails(self):
        for (o, a), p in Fixtures.partial.items():
            with open(p, "rb") as f:
                self.assertIn("does not export GetAttachType", mp.check_binary(f.read(), o, a))
        self.assertIn("does not export GetAttachType",
                      mp.check_binary(macho(MACHO_X64, FIVE[:4]), "MacOS", "x86_64"))

    def test_executable_is_not_a_library(self):
        self.assertIn("not a shared library", mp.check_binary(macho(MACHO_X64, FIVE, filetype=2), "MacOS", "x86_64"))

    def test_universal(self):
        both = fat(macho(MACHO_X64, FIVE), macho(MACHO_ARM64, FIVE))
        self.assertEqual(mp.check_binary(both, "MacOS", "Universal"), [])
        self.assertTrue(mp.check_binary(fat(macho(MACHO_X64, FIVE)), "MacOS", "Universal"))


class PackageTest(unittest.TestCase):
    def out(self):
        return os.path.join(tempfile.mkdtemp(dir=Fixtures.dir), "chat1c.zip")

    def test_zip_lists_exactly_what_is_present(self):
        keys = sorted(Fixtures.built)
        out = self.out()
        entries, skipped = mp.build(mp.DEFAULT_TEMPLATE, [Fixtures.bin_dir(keys)], None, "release", out)
        self.assertEqual(sorted((o, a) for o, a, _ in entries), keys)
        comps, names = zip_manifest(out)
        self.assertEqual(sorted(names), sorted(["MANIFEST.XML"] + [p for _, _, p, _ in comps]))
        self.assertEqual(len(comps) + len(skipped), 7)
        self.assertEqual(mp.verify_zip(out), [])

    def test_subset_and_template_order(self):
        keys = [k for k in (("Linux", "x86_64"), ("MacOS", "ARM64")) if k in Fixtures.built]
        out = self.out()
        mp.build(mp.DEFAULT_TEMPLATE, [Fixtures.bin_dir(keys)], None, "release", out)
        comps, _ = zip_manifest(out)
        self.assertEqual([(o, a) for o, a, _, _ in comps], keys)
        self.assertTrue(all(t == "native" for *_, t in comps))

    def test_arch_alias_in_bin_dir(self):
        # build.sh may name the file by the GNU triple's arch; the zip still gets the canonical name.
        d = tempfile.mkdtemp(dir=Fixtures.dir)
        shutil.copy(Fixtures.built[("MacOS", "ARM64")], os.path.join(d, vname("macos_aarch64.dylib")))
        out = self.out()
        mp.build(mp.DEFAULT_TEMPLATE, [d], None, "release", out)
        self.assertEqual(zip_manifest(out)[0], [("MacOS", "ARM64", vname("macos_arm64.dylib"), "native")])

    def test_cargo_target_dir_layout(self):
        key = ("Linux", "x86_64")
        if key not in Fixtures.built:
            self.skipTest("needs cc")
        t = tempfile.mkdtemp(dir=Fixtures.dir)
        os.makedirs(os.path.join(t, "x86_64-unknown-linux-gnu", "release"))
        shutil.copy(Fixtures.built[key], os.path.join(t, "x86_64-unknown-linux-gnu", "release", "libchat1c.so"))
        if ("Windows", "i386") in Fixtures.built:
            os.makedirs(os.path.join(t, "i686-pc-windows-gnu", "release"))
            shutil.copy(Fixtures.built[("Windows", "i386")], os.path.join(t, "i686-pc-windows-gnu", "release", "chat1c.dll"))
        out = self.out()
        entries, _ = mp.build(mp.DEFAULT_TEMPLATE, [], t, "release", out)
        self.assertIn(("Linux", "x86_64", vname("linux_x86_64.so")), entries)
        self.assertEqual(mp.verify_zip(out), [])

    def test_host_build_is_opt_in(self):
        key = mp.host_triple_key()
        if key not in Fixtures.built or key[0] != "Linux":
            self.skipTest("needs a fixture for this machine")
        t = tempfile.mkdtemp(dir=Fixtures.dir)
        os.makedirs(os.path.join(t, "release"))
        shutil.copy(Fixtures.built[key], os.path.join(t, "release", "libchat1c.so"))
        with self.assertRaises(SystemExit):  # nothing but a plain host build: not taken by default
            mp.build(mp.DEFAULT_TEMPLATE, [], t, "release", self.out())
        entries, _ = mp.build(mp.DEFAULT_TEMPLATE, [], t, "release", self.out(), host_build=True)
        self.assertEqual([(o, a) for o, a, _ in entries], [key])

    def test_mislabelled_binary_refused(self):
        key = ("Linux", "x86_64")
        if key not in Fixtures.built:
            self.skipTest("needs cc")
        d = tempfile.mkdtemp(dir=Fixtures.dir)
        shutil.copy(Fixtures.built[key], os.path.join(d, vname("linux_aarch64.so")))
        with self.assertRaises(mp.VerifyFailed) as cm:
            mp.build(mp.DEFAULT_TEMPLATE, [d], None, "release", self.out())
        self.assertIn("machine x86_64, but arch=ARM64", cm.exception.args[0][0])

    def test_verify_zip_catches_broken_packages(self):
        good = Fixtures.built[("MacOS", "x86_64")]
        with open(good, "rb") as f:
            data = f.read()
        a, b = vname("macos_x86_64.dylib"), vname("macos_arm64.dylib")
        m = mp.manifest_xml([("MacOS", "x86_64", a)])

        def z(files):
            p = self.out()
            with zipfile.ZipFile(p, "w") as f:
                for n, d in files.items():
                    f.writestr(n, d)
            return mp.verify_zip(p)

        self.assertEqual(z({"MANIFEST.XML": m, a: data}), [])
        self.assertTrue(any("missing" in x for x in z({a: data})))
        self.assertTrue(any("missing" in x for x in z({"sub/MANIFEST.XML": m, a: data})))
        self.assertTrue(any("not in the zip" in x for x in z({"MANIFEST.XML": m})))
        self.assertTrue(any("not in the manifest" in x for x in z({"MANIFEST.XML": m, a: data, "b.so": data})))
        self.assertTrue(any("root element" in x for x in z({"MANIFEST.XML": m.replace("8.2/addin", "8.3/addin"), a: data})))
        self.assertTrue(any('type must be' in x for x in z({"MANIFEST.XML": m.replace("native", "com"), a: data})))
        self.assertTrue(any("arch must be" in x for x in z({"MANIFEST.XML": m.replace('arch="x86_64"', 'arch="amd64"'), a: data})))
        self.assertTrue(any("machine" in x for x in z({"MANIFEST.XML": m.replace('arch="x86_64"', 'arch="ARM64"'), a: data})))
        self.assertTrue(any("not XML" in x for x in z({"MANIFEST.XML": "<bundle", a: data})))
        dup = mp.manifest_xml([("MacOS", "x86_64", a), ("MacOS", "x86_64", b)])
        self.assertTrue(any("duplicate" in x for x in z({"MANIFEST.XML": dup, a: data, b: data})))
        # Names carry one version: an unversioned or mixed package could be served from 1C's cache.
        old = "chat1c_macos_x86_64.dylib"
        self.assertTrue(any("name must be" in x for x in z({"MANIFEST.XML": mp.manifest_xml([("MacOS", "x86_64", old)]), old: data})))
        other = "chat1c_0_0_1_macos_arm64.dylib"
        arm = macho(MACHO_ARM64, FIVE)
        mixed = mp.manifest_xml([("MacOS", "x86_64", a), ("MacOS", "ARM64", other)])
        self.assertTrue(any("different versions" in x for x in z({"MANIFEST.XML": mixed, a: data, other: arm})))

    def test_size_budget(self):
        data = Fixtures.built[("MacOS", "x86_64")]
        with open(data, "rb") as f:
            data = f.read()
        a = vname("macos_x86_64.dylib")
        m = mp.manifest_xml([("MacOS", "x86_64", a)])

        def z(payload, stored=False):
            p = self.out()
            with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as f:
                f.writestr("MANIFEST.XML", m)
                f.writestr(a, payload)
            return p

        small = z(data)
        self.assertEqual(mp.size_problems(small), [])
        self.assertEqual([(n, goal, lim) for n, _, goal, lim in mp.sizes(small)],
                         [(os.path.basename(small), mp.GOAL_ZIP_BYTES, mp.MAX_ZIP_BYTES),
                          (a, mp.GOAL_BINARY_BYTES, mp.MAX_BINARY_BYTES)])
        at_limit = z(data + b"\0" * (mp.MAX_BINARY_BYTES - len(data)))
        self.assertEqual(mp.verify_zip(at_limit), [])
        # A binary one byte over the 4 MB ceiling fails (it compresses well: the zip stays small).
        over = z(data + b"\0" * (mp.MAX_BINARY_BYTES + 1 - len(data)))
        problems = mp.verify_zip(over)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn(a, problems[0])
        self.assertIn("over the 4.00 MB ceiling", problems[0])
        self.assertEqual(mp.verify_zip(over, check_sizes=False), [])
        # A zip over the 14 MB ceiling fails by itself (stored random bytes: the binary is over too).
        big = z(data + os.urandom(mp.MAX_ZIP_BYTES), stored=True)
        problems = mp.size_problems(big)
        self.assertTrue(any(x.startswith(os.path.basename(big) + ":") and "14.00 MB" in x for x in problems), problems)
        r = subprocess.run([sys.executable, os.path.join(HERE, "make_package.py"), "--verify", over],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"size %s +4\.00 MB  goal 3\.00 MB \(1\.33x\)  ceiling 4\.00 MB  OVER" % re.escape(a))
        self.assertRegex(r.stdout, r"size chat1c\.zip +0\.\d\d MB  goal 10\.00 MB \(0\.\d\dx\)  ceiling 14\.00 MB\n")
        # Over the goal, under the ceiling: printed, not failed.
        between = z(data + b"\0" * (mp.GOAL_BINARY_BYTES + 1 - len(data)))
        self.assertEqual(mp.verify_zip(between), [])

    def test_cli(self):
        keys = [k for k in Fixtures.built if k[0] != "Windows"][:2]
        out = self.out()
        script = os.path.join(HERE, "make_package.py")
        r = subprocess.run([sys.executable, script, "--bin-dir", Fixtures.bin_dir(keys), "--out", out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("skipped", r.stdout)
        r = subprocess.run([sys.executable, script, "--verify", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([sys.executable, script, "--bin-dir", tempfile.mkdtemp(dir=Fixtures.dir), "--out", out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([sys.executable, script, "--bin-dir", os.path.join(Fixtures.dir, "nope"), "--out", out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a directory", r.stderr)
        bad = self.out()
        with zipfile.ZipFile(bad, "w") as f:
            f.writestr("MANIFEST.XML", mp.manifest_xml([("Linux", "x86_64", "x.so")]))
        r = subprocess.run([sys.executable, script, "--verify", bad], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not in the zip", r.stderr)


def real_addin():
    p = os.environ.get("CHAT1C_LIB")
    if p:
        return p
    for cand in sorted(glob.glob(os.path.join(REPO, "target*", "release", "libchat1c.so")), key=os.path.getmtime, reverse=True):
        return cand
    return None


class RealAddinTest(unittest.TestCase):
    def test_real_library_packages_and_verifies(self):
        lib = real_addin()
        if not lib:
            self.skipTest("no built libchat1c.so (cargo build --release -p chat1c, or set CHAT1C_LIB)")
        key = mp.host_triple_key()
        d = tempfile.mkdtemp(dir=Fixtures.dir)
        names = {(o, a): p for o, a, p in mp.read_template(mp.DEFAULT_TEMPLATE)}
        shutil.copy(lib, os.path.join(d, names[key]))
        out = os.path.join(d, "chat1c.zip")
        mp.build(mp.DEFAULT_TEMPLATE, [d], None, "release", out)
        # A plain `cargo build --release` has no LTO (the rlib in crate-type), so no size budget here.
        self.assertEqual(mp.verify_zip(out, check_sizes=False), [])
        print("\nreal add-in %s: %s" % (lib, binfmt.parse_file(lib)), file=sys.stderr)

    def test_built_package(self):
        z = os.environ.get("CHAT1C_PACKAGE_ZIP")
        if not z:
            self.skipTest("CHAT1C_PACKAGE_ZIP not set")
        self.assertEqual(mp.verify_zip(z), [])


if __name__ == "__main__":
    unittest.main()
