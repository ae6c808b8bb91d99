//! chat1c: a 1C:Enterprise Native API add-in that gives any 1C form a live chat.
//!
//! Layers, each in its own module: `ffi` (the only unsafe code: what 1C calls),
//! `addin` (the method table and argument checks), `chat` (the domain), `ticket`
//! (identity issued by the 1C server), `store` (the register behind a trait),
//! `watch` (push to 1C), `page` (FillChat's HTML). See ARCHITECTURE.md.

pub mod addin;
pub mod chat;
mod ffi;
pub mod page;
pub mod store;
pub mod ticket;
pub mod watch;

use std::ffi::{c_int, c_long, c_void};

#[no_mangle]
pub extern "C" fn GetClassNames() -> *const u16 {
    ffi::class_names()
}

/// # Safety
/// Called by 1C with a class name and an out-pointer.
#[no_mangle]
pub unsafe extern "C" fn GetClassObject(name: *const u16, out: *mut *mut c_void) -> c_long {
    // SAFETY: forwarded from 1C as is.
    unsafe { ffi::get_class_object(name, out) }
}

/// # Safety
/// Called by 1C with the pointer GetClassObject gave.
#[no_mangle]
pub unsafe extern "C" fn DestroyObject(object: *mut *mut c_void) -> c_long {
    // SAFETY: forwarded from 1C as is.
    unsafe { ffi::destroy_object(object) }
}

#[no_mangle]
pub extern "C" fn SetPlatformCapabilities(capabilities: c_int) -> c_int {
    ffi::set_platform_capabilities(capabilities)
}

#[no_mangle]
pub extern "C" fn GetAttachType() -> c_int {
    ffi::attach_type()
}
