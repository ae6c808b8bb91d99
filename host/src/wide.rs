//! NUL-terminated UTF-16 strings, the form of every name passed to and from an add-in.

/// `s` as UTF-16 with a closing NUL.
pub(crate) fn u16z(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Reads a NUL-terminated UTF-16 string (at most 1 Mi units).
///
/// # Safety
/// `p` must be non-null and point at a NUL-terminated UTF-16 string (or at least 1 Mi units).
pub(crate) unsafe fn read_z(p: *const u16) -> Vec<u16> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < (1 << 20) {
        // SAFETY: guaranteed by the caller: readable up to and including the NUL.
        let c = unsafe { *p.add(i) };
        if c == 0 {
            break;
        }
        out.push(c);
        i += 1;
    }
    out
}
