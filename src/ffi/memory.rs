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
    pub fn alloc_wide(&self, s: &str) -> Option<(*mut u16, u32)> {
        let units: Vec<u16> = s.encode_utf16().chain(Some(0)).collect();
        let len = u32::try_from(units.len() - 1).ok()?;
        let out = self.alloc(c_ulong::try_from(units.len() * 2).ok()?)?;
        // SAFETY: the host gave us `units.len() * 2` writable bytes at `out`.
        unsafe { std::ptr::copy_nonoverlapping(units.as_ptr(), out.cast::<u16>(), units.len()) };
        Some((out.cast(), len))
    }
}
