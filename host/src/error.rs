//! What goes wrong, as the caller sees it: the host's own failures, a failed call as BSL
//! sees its exception, and the `AddError` calls an object made (read from its connection).

use std::fmt;
use std::os::raw::c_long;

use crate::ffi;

/// Failure to load a library or create an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    pub message: String,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for HostError {}

pub(crate) fn host_err(message: impl Into<String>) -> HostError {
    HostError {
        message: message.into(),
    }
}

/// A failed call, as BSL would see the exception: the text of the last `AddError` the add-in
/// made during the call (with its codes), or the platform's own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub message: String,
    /// `wcode` of the AddError (0 when the platform raised the error itself).
    pub wcode: u16,
    /// `scode` of the AddError (0 when none).
    pub scode: i64,
    /// `source` of the AddError ("" when none).
    pub source: String,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for CallError {}

pub(crate) fn platform_err(message: String) -> CallError {
    CallError {
        message,
        wcode: 0,
        scode: 0,
        source: String::new(),
    }
}

/// One `IAddInDefBase::AddError` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedError {
    pub wcode: u16,
    pub source: String,
    pub descr: String,
    pub scode: i64,
}

pub(crate) fn error_at(conn: *mut ffi::Conn, i: usize) -> Option<AddedError> {
    let (mut wcode, mut scode) = (0u16, 0 as c_long);
    let (mut src, mut sl, mut descr, mut dl) = (std::ptr::null(), 0usize, std::ptr::null(), 0usize);
    // SAFETY: conn valid forever; all out-pointers valid. The strings live in a deque element
    // that is never removed or modified.
    let ok = unsafe {
        ffi::h_conn_err_get(
            conn, i, &mut wcode, &mut scode, &mut src, &mut sl, &mut descr, &mut dl,
        )
    };
    if ok != 1 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // c_long is i32 on Windows
    let scode = i64::from(scode);
    Some(AddedError {
        wcode,
        scode,
        // SAFETY: see above (len units at a valid pointer; an empty u16string's data() is valid).
        source: String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(src, sl) }),
        // SAFETY: as above.
        descr: String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(descr, dl) }),
    })
}

pub(crate) fn errors_of(conn: *mut ffi::Conn) -> Vec<AddedError> {
    // SAFETY: conn valid forever.
    let n = unsafe { ffi::h_conn_err_count(conn) };
    (0..n).filter_map(|i| error_at(conn, i)).collect()
}
