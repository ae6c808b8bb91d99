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

    /// Allocates `s` as NUL-terminated UTF-16; returns the buffer and its length in units.
    pub fn alloc_wide(&self, s: &str) -> Option<(*mut u16, u32)> {
        let units: Vec<u16> = s.encode_utf16().chain(Some(0)).collect();
        let len = u32::try_from(units.len() - 1).ok()?;
        let bytes = c_ulong::try_from(units.len() * 2).ok()?;
        let mut out: *mut c_void = std::ptr::null_mut();
        // SAFETY: the vtable is the host's IMemoryManager (set by setMemManager and
        // alive until Done); `out` is a valid out-pointer.
        let ok =
            unsafe { ((*self.0.as_ref().vtable).alloc)(self.0.as_ptr().cast(), &mut out, bytes) };
        if !ok || out.is_null() {
            return None;
        }
        // SAFETY: the host gave us `bytes` writable bytes at `out`.
        unsafe { std::ptr::copy_nonoverlapping(units.as_ptr(), out.cast::<u16>(), units.len()) };
        Some((out.cast(), len))
    }
}
