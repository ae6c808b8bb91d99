//! The connection to 1C (IAddInDefBase): AddError and ExternalEvent. The pointer is
//! kept behind a lock and cleared at Done, so nothing can call 1C afterwards.

use std::ffi::{c_long, c_void};
use std::ptr::NonNull;
use std::sync::Mutex;

use crate::watch::EventSink;

#[repr(C)]
struct VTable {
    dtor: usize,
    #[cfg(not(windows))]
    dtor2: usize,
    add_error: unsafe extern "system" fn(*mut c_void, u16, *const u16, *const u16, c_long) -> bool,
    read: usize,
    write: usize,
    register_profile_as: usize,
    set_event_buffer_depth: unsafe extern "system" fn(*mut c_void, c_long) -> bool,
    get_event_buffer_depth: usize,
    external_event: unsafe extern "system" fn(*mut c_void, *mut u16, *mut u16, *mut u16) -> bool,
}

#[repr(C)]
struct Raw {
    vtable: *const VTable,
}

struct Ptr(NonNull<Raw>);
// SAFETY: 1C's connection may be called from any thread for ExternalEvent (the
// platform's own samples do); every use is serialised by the Link's mutex.
unsafe impl Send for Ptr {}

/// ADDIN_E_FAIL: the message goes to 1C's message window and the exception.
const ADDIN_E_FAIL: u16 = 1006;
/// Any non-zero scode makes the failure a catchable BSL exception.
const SCODE_FAIL: c_long = 1;
/// Events 1C may hold for one object before refusing more.
const EVENT_DEPTH: c_long = 16;
pub const SOURCE: &str = "Chat";

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

/// The live connection of one object; dead (None) after Done.
pub struct Link(Mutex<Option<Ptr>>);

impl Link {
    pub fn new(ptr: *mut c_void) -> Option<Link> {
        let link = Link(Mutex::new(Some(Ptr(NonNull::new(ptr.cast())?))));
        link.with(|raw, vt| {
            // SAFETY: `raw` is the live connection given to Init.
            unsafe { (vt.set_event_buffer_depth)(raw, EVENT_DEPTH) }
        });
        Some(link)
    }

    fn with<R: Default>(&self, f: impl FnOnce(*mut c_void, &VTable) -> R) -> R {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            // SAFETY: the pointer is 1C's connection, valid until kill() (Done).
            Some(p) => f(p.0.as_ptr().cast(), unsafe { &*p.0.as_ref().vtable }),
            None => R::default(),
        }
    }

    /// Reports a failure to 1C (the caller then returns false).
    pub fn add_error(&self, text: &str) {
        let (source, descr) = (wide(SOURCE), wide(text));
        self.with(|raw, vt| {
            // SAFETY: live connection; the strings outlive the call (1C copies them).
            unsafe {
                (vt.add_error)(
                    raw,
                    ADDIN_E_FAIL,
                    source.as_ptr(),
                    descr.as_ptr(),
                    SCODE_FAIL,
                )
            }
        });
    }

    /// Forgets the connection; waits for an event being raised right now.
    pub fn kill(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// UTF-16 units a hint's three strings take on the stack: raising one allocates
/// nothing (a hint per reader per message is the watcher's hot path).
const STACK_UTF16: usize = 192;

/// Writes `s` and its NUL into `buffer` from `at`; where the next string starts.
fn put_wide(buffer: &mut [u16], at: usize, s: &str) -> usize {
    let units = s.encode_utf16().chain(Some(0));
    at + buffer
        .iter_mut()
        .skip(at)
        .zip(units)
        .map(|(slot, u)| *slot = u)
        .count()
}

impl EventSink for Link {
    fn raise(&self, message: &str, data: &str) -> bool {
        // A UTF-8 string has at least as many bytes as UTF-16 units.
        let needed = SOURCE.len() + message.len() + data.len() + 3;
        let mut stack = [0u16; STACK_UTF16];
        let mut heap = Vec::new();
        let buffer: &mut [u16] = if needed <= STACK_UTF16 {
            &mut stack
        } else {
            heap.resize(needed, 0);
            &mut heap
        };
        let message_at = put_wide(buffer, 0, SOURCE);
        let data_at = put_wide(buffer, message_at, message);
        put_wide(buffer, data_at, data);
        let (source, rest) = buffer.split_at_mut(message_at);
        let (message, data) = rest.split_at_mut(data_at - message_at);
        self.with(|raw, vt| {
            // SAFETY: live connection; the buffers (NUL-terminated) outlive the call.
            unsafe {
                (vt.external_event)(
                    raw,
                    source.as_mut_ptr(),
                    message.as_mut_ptr(),
                    data.as_mut_ptr(),
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::put_wide;

    #[test]
    fn strings_are_laid_out_one_after_another_each_with_its_nul() {
        let mut buffer = [7u16; 12];
        let second = put_wide(&mut buffer, 0, "Chat");
        let third = put_wide(&mut buffer, second, "ё");
        let end = put_wide(&mut buffer, third, "{}");
        assert_eq!((second, third, end), (5, 7, 10));
        let expected: Vec<u16> = "Chat\0ё\0{}\0".encode_utf16().collect();
        assert_eq!(&buffer[..end], &expected[..]);
        assert_eq!(put_wide(&mut buffer[..3], 0, "long"), 3, "stops at the end");
    }
}
