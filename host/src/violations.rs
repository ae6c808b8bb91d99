//! The process-wide record of what add-ins get wrong (kept by the C++ side, which also sees
//! calls the Rust side never makes, such as `ExternalEvent` from an add-in's thread), and
//! the count of memory-manager blocks not freed yet.

use std::ffi::c_char;

use crate::ffi;

/// Records a violation of object `owner` (0 = library level).
pub(crate) fn add_violation(owner: u64, text: &str) {
    // SAFETY: text is a valid buffer of text.len() bytes; the C++ side copies it.
    unsafe { ffi::h_viol_add(owner, text.as_ptr().cast::<c_char>(), text.len()) }
}

fn all_violations() -> Vec<(u64, String)> {
    // SAFETY: plain call.
    let n = unsafe { ffi::h_viol_count() };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (mut owner, mut ptr, mut len) = (0u64, std::ptr::null::<c_char>(), 0usize);
        // SAFETY: out-pointers are valid; on success ptr/len describe a string in a deque
        // element that is never removed or modified.
        let ok = unsafe { ffi::h_viol_get(i, &mut owner, &mut ptr, &mut len) };
        if ok == 1 && !ptr.is_null() {
            // SAFETY: see above.
            let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
            out.push((owner, String::from_utf8_lossy(bytes).into_owned()));
        }
    }
    out
}

/// Every violation recorded in this process so far, each prefixed with its object id
/// ("[object 3] ..."; object 0 = library level).
pub fn violations() -> Vec<String> {
    all_violations()
        .into_iter()
        .map(|(o, t)| format!("[object {o}] {t}"))
        .collect()
}

/// The violations recorded for one object (see [`Object::id`](crate::Object::id)), including
/// those that happen after it was destroyed (e.g. a thread calling `ExternalEvent` after
/// `Done`).
pub fn violations_of(id: u64) -> Vec<String> {
    all_violations()
        .into_iter()
        .filter(|(o, _)| *o == id)
        .map(|(_, t)| t)
        .collect()
}

/// Blocks allocated through any of this host's memory managers and not freed yet.
pub fn live_allocations() -> usize {
    // SAFETY: plain call.
    unsafe { ffi::h_live_total() }
}
