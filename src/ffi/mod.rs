//! The FFI boundary with 1C: the only unsafe code of the add-in. It lays out the
//! C++ objects 1C calls, converts tVariants, and reaches 1C's connection and memory
//! manager; everything behind it is plain Rust.

mod component;
mod connection;
mod memory;
mod variant;

use std::ffi::{c_int, c_long, c_void};

/// The one class this library offers, and the name BSL uses: `AddIn.<Имя>.Chat`.
pub const CLASS_NAME: &str = "Chat";
const CLASS_NAMES: [u16; 5] = [b'C' as u16, b'h' as u16, b'a' as u16, b't' as u16, 0];
/// GetAttachType: the add-in works isolated or in-process (AttachType::Any).
const ATTACH_ANY: c_int = 3;

pub fn class_names() -> *const u16 {
    CLASS_NAMES.as_ptr()
}

/// # Safety
/// `name` is NUL-terminated UTF-16 or null; `out` is a valid out-pointer or null.
pub unsafe fn get_class_object(name: *const u16, out: *mut *mut c_void) -> c_long {
    std::panic::catch_unwind(|| {
        // SAFETY: guaranteed by the caller.
        let name = unsafe { name.as_ref().map(read_name) };
        if out.is_null() || !name.is_some_and(|n| n.eq_ignore_ascii_case(CLASS_NAME)) {
            return 0;
        }
        // SAFETY: `out` is non-null (checked).
        unsafe { *out = component::create().cast() };
        1
    })
    .unwrap_or(0)
}

fn read_name(first: &u16) -> String {
    let ptr: *const u16 = first;
    let mut units = Vec::new();
    // Bounded to a short class name.
    while units.len() < 64 {
        // SAFETY: a NUL-terminated string from 1C, read up to its NUL.
        let u = unsafe { *ptr.add(units.len()) };
        if u == 0 {
            break;
        }
        units.push(u);
    }
    String::from_utf16_lossy(&units)
}

/// # Safety
/// `object` points to a pointer from [`get_class_object`] (or is null).
pub unsafe fn destroy_object(object: *mut *mut c_void) -> c_long {
    std::panic::catch_unwind(|| {
        // SAFETY: guaranteed by the caller.
        let Some(slot) = (unsafe { object.as_mut() }) else {
            return -1;
        };
        if slot.is_null() {
            return -1;
        }
        // SAFETY: the pointer came from component::create and 1C gives it up.
        unsafe { component::destroy(slot.cast()) };
        *slot = std::ptr::null_mut();
        0
    })
    .unwrap_or(-1)
}

pub fn set_platform_capabilities(capabilities: c_int) -> c_int {
    // No platform capability (message boxes, platform info) is needed: keep what 1C has.
    capabilities
}

pub fn attach_type() -> c_int {
    ATTACH_ANY
}
