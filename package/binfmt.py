"""Minimal, stdlib-only readers for ELF, PE and Mach-O shared libraries.

They answer the three questions the package needs: which format, which CPU,
and which function names are exported. No objdump/nm dependency, so the check
runs on any machine with Python 3 (CI, a Windows build box, a 1C developer's PC).
"""

import struct

# Canonical (os, arch) values are those of the 1C manifest schema:
# os in {Windows, Linux, MacOS}, arch in {i386, x86_64, ARM64}.

ELF_MACHINES = {3: "i386", 62: "x86_64", 183: "ARM64", 40: "ARM"}
PE_MACHINES = {0x14C: "i386", 0x8664: "x86_64", 0xAA64: "ARM64", 0x1C4: "ARM"}
MACHO_CPUS = {7: "i386", 0x01000007: "x86_64", 0x0100000C: "ARM64", 12: "ARM"}

FORMAT_OF_OS = {"Linux": "ELF", "Windows": "PE", "MacOS": "Mach-O"}


class FormatError(Exception):
    pass


class BinaryInfo:
    def __init__(self, fmt, archs, exports, is_library):
        self.format = fmt            # "ELF" | "PE" | "Mach-O"
        self.archs = archs           # list of arch names (several for a fat Mach-O)
        self.exports = exports       # set of exported symbol names (no leading "_" on Mach-O)
        self.is_library = is_library  # ET_DYN / IMAGE_FILE_DLL / MH_DYLIB

    def __repr__(self):
        return "BinaryInfo(%s, %s, %d exports, lib=%s)" % (
            self.format, self.archs, len(self.exports), self.is_library)


def _cstr(data, off):
    end = data.find(b"\0", off)
    if end < 0:
        raise FormatError("unterminated string at %d" % off)
    return data[off:end].decode("utf-8", "replace")


def _need(data, off, size, what):
    if off < 0 or off + size > len(data):
        raise FormatError("%s out of bounds (offset %d, size %d, file %d)" % (what, off, size, len(data)))


# ---------------------------------------------------------------- ELF
def parse_elf(data):
    _need(data, 0, 16, "ELF ident")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise FormatError("bad ELF class/data")
    e = "<" if ei_data == 1 else ">"
    is64 = ei_class == 2
    if is64:
        _need(data, 0, 64, "ELF header")
        (e_type, e_machine, _v, _entry, _phoff, e_shoff, _flags, _ehsize, _phentsize,
         _phnum, e_shentsize, e_shnum, _shstrndx) = struct.unpack_from(e + "HHIQQQIHHHHHH", data, 16)
    else:
        _need(data, 0, 52, "ELF header")
        (e_type, e_machine, _v, _entry, _phoff, e_shoff, _flags, _ehsize, _phentsize,
         _phnum, e_shentsize, e_shnum, _shstrndx) = struct.unpack_from(e + "HHIIIIIHHHHHH", data, 16)
    arch = ELF_MACHINES.get(e_machine, "e_machine=%d" % e_machine)
    # The dynamic symbol table survives `strip`; it is what dlsym() (and so 1C) sees.
    shdr_fmt = e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    sections = []
    for i in range(e_shnum):
        off = e_shoff + i * e_shentsize
        _need(data, off, struct.calcsize(shdr_fmt), "ELF section header")
        sections.append(struct.unpack_from(shdr_fmt, data, off))
    exports = set()
    SHT_DYNSYM = 11
    for sh in sections:
        (_name, sh_type, _fl, _addr, sh_offset, sh_size, sh_link, _info, _align, sh_entsize) = sh
        if sh_type != SHT_DYNSYM:
            continue
        strtab = sections[sh_link]
        str_off = strtab[4]
        sym_fmt = e + ("IBBHQQ" if is64 else "IIIBBH")
        entsize = sh_entsize or struct.calcsize(sym_fmt)
        _need(data, sh_offset, sh_size, ".dynsym")
        for k in range(sh_size // entsize):
            if is64:
                st_name, st_info, _other, st_shndx, _value, _size = struct.unpack_from(sym_fmt, data, sh_offset + k * entsize)
            else:
                st_name, _value, _size, st_info, _other, st_shndx = struct.unpack_from(sym_fmt, data, sh_offset + k * entsize)
            bind, typ = st_info >> 4, st_info & 0xF
            # defined (shndx != UNDEF), GLOBAL(1)/WEAK(2), FUNC(2)
            if st_shndx != 0 and bind in (1, 2) and typ == 2:
                exports.add(_cstr(data, str_off + st_name))
    return BinaryInfo("ELF", [arch], exports, e_type == 3)


# ---------------------------------------------------------------- PE
def parse_pe(data):
    _need(data, 0, 64, "DOS header")
    (e_lfanew,) = struct.unpack_from("<I", data, 0x3C)
    _need(data, e_lfanew, 24, "PE header")
    if data[e_lfanew:e_lfanew + 4] != b"PE\0\0":
        raise FormatError("no PE signature")
    machine, nsect, _ts, _symp, _nsym, opt_size, characteristics = struct.unpack_from("<HHIIIHH", data, e_lfanew + 4)
    arch = PE_MACHINES.get(machine, "Machine=0x%x" % machine)
    opt = e_lfanew + 24
    _need(data, opt, opt_size, "optional header")
    (magic,) = struct.unpack_from("<H", data, opt)
    if magic == 0x10B:
        dd = opt + 96
    elif magic == 0x20B:
        dd = opt + 112
    else:
        raise FormatError("bad optional header magic 0x%x" % magic)
    exports = set()
    sec_tab = opt + opt_size
    sections = []
    for i in range(nsect):
        _need(data, sec_tab + i * 40, 40, "section header")
        vsize, vaddr, rawsize, rawptr = struct.unpack_from("<IIII", data, sec_tab + i * 40 + 8)
        (chars,) = struct.unpack_from("<I", data, sec_tab + i * 40 + 36)
        sections.append((vaddr, max(vsize, rawsize), rawptr, chars))

    def executable(rva):
        IMAGE_SCN_MEM_EXECUTE = 0x20000000
        return any(v <= rva < v + n and c & IMAGE_SCN_MEM_EXECUTE for v, n, _, c in sections)

    def rva2off(rva):
        for vaddr, size, rawptr, _chars in sections:
            if vaddr <= rva < vaddr + size:
                return rva - vaddr + rawptr
        raise FormatError("RVA 0x%x not in any section" % rva)

    if dd + 8 <= opt + opt_size:
        exp_rva, exp_size = struct.unpack_from("<II", data, dd)
        if exp_rva and exp_size:
            eo = rva2off(exp_rva)
            _need(data, eo, 40, "export directory")
            (_c, _t, _ma, _mi, _name, _base, nfunc, nnames, afunc, anames, aord) = struct.unpack_from("<IIHHIIIIIII", data, eo)
            if nnames:
                no, oo, fo = rva2off(anames), rva2off(aord), rva2off(afunc)
            for k in range(nnames):
                (name_rva,) = struct.unpack_from("<I", data, no + 4 * k)
                (ordinal,) = struct.unpack_from("<H", data, oo + 2 * k)
                if ordinal >= nfunc:
                    raise FormatError("export ordinal out of range")
                (func_rva,) = struct.unpack_from("<I", data, fo + 4 * ordinal)
                # Functions only: data exports and forwarders (RVA inside the export
                # directory, pointing at "dll.name") live outside executable sections.
                if executable(func_rva) and not exp_rva <= func_rva < exp_rva + exp_size:
                    exports.add(_cstr(data, rva2off(name_rva)))
    IMAGE_FILE_DLL = 0x2000
    return BinaryInfo("PE", [arch], exports, bool(characteristics & IMAGE_FILE_DLL))


# ---------------------------------------------------------------- Mach-O
def _parse_thin_macho(data, base):
    _need(data, base, 28, "Mach-O header")
    (magic,) = struct.unpack_from("<I", data, base)
    if magic in (0xFEEDFACE, 0xFEEDFACF):
        e = "<"
    elif magic in (0xCEFAEDFE, 0xCFFAEDFE):
        e = ">"
    else:
        raise FormatError("bad Mach-O magic 0x%x" % magic)
    is64 = magic in (0xFEEDFACF, 0xCFFAEDFE)
    cputype, _sub, filetype, ncmds, _sizeofcmds, _flags = struct.unpack_from(e + "iiIIII", data, base + 4)
    arch = MACHO_CPUS.get(cputype & 0xFFFFFFFF, "cputype=0x%x" % (cputype & 0xFFFFFFFF))
    off = base + (32 if is64 else 28)
    exports = set()
    LC_SYMTAB = 0x2
    for _ in range(ncmds):
        _need(data, off, 8, "load command")
        cmd, cmdsize = struct.unpack_from(e + "II", data, off)
        if cmdsize < 8:
            raise FormatError("bad load command size")
        if cmd == LC_SYMTAB:
            symoff, nsyms, stroff, _strsize = struct.unpack_from(e + "IIII", data, off + 8)
            nfmt = e + ("IBBHQ" if is64 else "IBBHI")
            nsize = struct.calcsize(nfmt)
            _need(data, base + symoff, nsyms * nsize, "symbol table")
            for k in range(nsyms):
                n_strx, n_type, n_sect, _desc, _value = struct.unpack_from(nfmt, data, base + symoff + k * nsize)
                # N_EXT and defined in a section (N_SECT): an exported symbol.
                if (n_type & 0x01) and (n_type & 0x0E) == 0x0E and not (n_type & 0xE0):
                    name = _cstr(data, base + stroff + n_strx)
                    exports.add(name[1:] if name.startswith("_") else name)
        off += cmdsize
    MH_DYLIB, MH_BUNDLE = 6, 8
    return BinaryInfo("Mach-O", [arch], exports, filetype in (MH_DYLIB, MH_BUNDLE))


def parse_macho(data):
    (magic,) = struct.unpack_from(">I", data, 0)
    if magic == 0xCAFEBABE:  # fat/universal: big-endian header, one slice per arch
        (nfat,) = struct.unpack_from(">I", data, 4)
        archs, exports, is_lib = [], None, True
        for i in range(nfat):
            _cpu, _sub, offset, _size, _align = struct.unpack_from(">iiIII", data, 8 + 20 * i)
            info = _parse_thin_macho(data, offset)
            archs += info.archs
            # A symbol counts only if every slice exports it.
            exports = info.exports if exports is None else exports & info.exports
            is_lib = is_lib and info.is_library
        return BinaryInfo("Mach-O", archs, exports or set(), is_lib)
    return _parse_thin_macho(data, 0)


def parse(data):
    """Detect the format of `data` (bytes) and parse it; raise FormatError when unknown."""
    if data[:4] == b"\x7fELF":
        return parse_elf(data)
    if data[:2] == b"MZ":
        return parse_pe(data)
    if len(data) >= 4 and struct.unpack_from(">I", data, 0)[0] in (
            0xCAFEBABE, 0xFEEDFACE, 0xFEEDFACF, 0xCEFAEDFE, 0xCFFAEDFE):
        return parse_macho(data)
    raise FormatError("not an ELF, PE or Mach-O file")


def parse_file(path):
    with open(path, "rb") as f:
        return parse(f.read())
