//! 1C's IMemoryManager: every string handed to 1C is allocated here, never by Rust.

use std::ffi::{c_ulong, c_void};
use std::ptr::NonNull;

#[repr(C)]
struct VTable {
    dtor: usize,
    #[cfg(not(windows))]
    dtor2: usize,
    alloc:
        unsafe extern "system" fn(this: *mut c_void, out: *mut *mut c_void, bytes: c_ulong) -> bool,
    free: unsafe extern "system" fn(this: *mut c_void, ptr: *mut *mut c_void),
}

#[repr(C)]
struct Raw {
    vtable: *const VTable,
}

/// The platform's memory manager, valid from setMemManager until Done.
#[derive(Clone, Copy)]
pub struct MemoryManager(NonNull<Raw>);

impl MemoryManager {
    pub fn new(ptr: *mut c_void) -> Option<MemoryManager> {
        NonNull::new(ptr.cast()).map(MemoryManager)
    }

    /// Allocates a copy of `data` (ДвоичныеДанные); returns the buffer and its length.
    /// An empty blob is a null pointer with length 0, as 1C's samples hand it over.
    pub fn alloc_bytes(&self, data: &[u8]) -> Option<(*mut c_void, u32)> {
        let len = u32::try_from(data.len()).ok()?;
        if data.is_empty() {
            return Some((std::ptr::null_mut(), 0));
        }
        let out = self.alloc(c_ulong::try_from(data.len()).ok()?)?;
        // SAFETY: the host gave us `data.len()` writable bytes at `out`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), out.cast::<u8>(), data.len()) };
        Some((out, len))
    }

    /// `bytes` from the host's allocator, or None.
    fn alloc(&self, bytes: c_ulong) -> Option<*mut c_void> {
        let mut out: *mut c_void = std::ptr::null_mut();
        // SAFETY: the vtable is the host's IMemoryManager (set by setMemManager and
        // alive until Done); `out` is a valid out-pointer.
        let ok =
            unsafe { ((*self.0.as_ref().vtable).alloc)(self.0.as_ptr().cast(), &mut out, bytes) };
        (ok && !out.is_null()).then_some(out)
    }

    /// Allocates `s` as NUL-terminated UTF-16; returns the buffer and its length in units.
    /// Written straight into 1C's buffer: GetGroups hands over half a megabyte.
    pub fn alloc_wide(&self, s: &str) -> Option<(*mut u16, u32)> {
        let units = utf16_len(s);
        let len = u32::try_from(units).ok()?;
        let out = self.alloc(c_ulong::try_from((units + 1) * 2).ok()?)?;
        // SAFETY: the host gave us `(units + 1) * 2` writable bytes at `out`, aligned
        // for u16 (its allocator serves any type), and nothing else refers to them yet.
        let wide = unsafe { std::slice::from_raw_parts_mut(out.cast::<u16>(), units + 1) };
        encode_utf16(s, wide);
        Some((out.cast(), len))
    }
}

/// The UTF-16 code units of `s`: one per character (each starts with a byte that is
/// not 10xxxxxx), two for a character beyond the BMP (4 bytes, led by 11110xxx).
fn utf16_len(s: &str) -> usize {
    s.bytes()
        .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

/// Writes `s` as UTF-16 and a NUL into `out`, which holds exactly `utf16_len(s) + 1`.
fn encode_utf16(s: &str, out: &mut [u16]) {
    let bytes = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while let Some(&b) = bytes.get(i) {
        if b < 0x80 {
            out[n] = u16::from(b);
            i += 1;
            n += 1;
        } else if let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) {
            n += c.encode_utf16(&mut out[n..]).len();
            i += c.len_utf8();
        } else {
            break; // not reached: `i` always starts a character
        }
    }
    out[n] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_as_the_standard_library_encodes_it() {
        for s in [
            "",
            "abc",
            "Привет, мир",
            "ё€𝄞x",
            "\u{10FFFF}",
            "a\u{0}b",
            "日本語 🎉!",
        ] {
            let want: Vec<u16> = s.encode_utf16().chain(Some(0)).collect();
            assert_eq!(utf16_len(s) + 1, want.len(), "{s:?}");
            let mut got = vec![0xFFFF; want.len()];
            encode_utf16(s, &mut got);
            assert_eq!(got, want, "{s:?}");
        }
    }
}
