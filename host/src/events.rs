//! External events: what an object's connection queued, how 1C hands them out, and the
//! clock that stamps them.

use std::time::Duration;

use crate::ffi;

/// One external event, stamped with CLOCK_MONOTONIC (ns) when `ExternalEvent` was entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub source: String,
    pub message: String,
    pub data: String,
    pub mono_ns: u64,
}

/// Counters of an object's event queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventStats {
    /// `ExternalEvent` calls that returned true.
    pub accepted: u64,
    /// `ExternalEvent` calls refused because the buffer was full.
    pub refused: u64,
    /// Events waiting to be pumped.
    pub queued: usize,
}

/// CLOCK_MONOTONIC in nanoseconds (system-wide: comparable across processes).
pub fn mono_ns() -> u64 {
    // SAFETY: plain call.
    unsafe { ffi::h_mono_ns() }
}

/// An object's external-event queue: what 1C buffers and dispatches when idle.
/// Cloneable and usable from any thread; stays valid after the object is destroyed.
#[derive(Clone)]
pub struct Events {
    conn: *mut ffi::Conn,
    id: u64,
}

// SAFETY: the C++ connection is never freed and guards its state with a mutex.
unsafe impl Send for Events {}
// SAFETY: as above.
unsafe impl Sync for Events {}

impl Events {
    pub(crate) fn new(conn: *mut ffi::Conn, id: u64) -> Events {
        Events { conn, id }
    }

    /// The owning object's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    fn pop(&self, wait_ns: i64) -> Option<Event> {
        // SAFETY: conn valid forever.
        let e = unsafe { ffi::h_conn_pop(self.conn, wait_ns) };
        if e.is_null() {
            return None;
        }
        let (mut s, mut sl, mut m, mut ml, mut d, mut dl, mut mono) = (
            std::ptr::null(),
            0usize,
            std::ptr::null(),
            0usize,
            std::ptr::null(),
            0usize,
            0u64,
        );
        // SAFETY: e is a valid Event we own; out-pointers valid; the views live until h_ev_free.
        let ev = unsafe {
            ffi::h_ev_view(
                e, &mut s, &mut sl, &mut m, &mut ml, &mut d, &mut dl, &mut mono,
            );
            Event {
                source: String::from_utf16_lossy(std::slice::from_raw_parts(s, sl)),
                message: String::from_utf16_lossy(std::slice::from_raw_parts(m, ml)),
                data: String::from_utf16_lossy(std::slice::from_raw_parts(d, dl)),
                mono_ns: mono,
            }
        };
        // SAFETY: e came from h_conn_pop and is freed once.
        unsafe { ffi::h_ev_free(e) };
        Some(ev)
    }

    /// Hands out every queued event (1C dispatching them while idle).
    pub fn pump(&self) -> Vec<Event> {
        std::iter::from_fn(|| self.pop(0)).collect()
    }

    /// Waits up to `timeout` for one event.
    pub fn wait(&self, timeout: Duration) -> Option<Event> {
        let ns = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX).max(1);
        self.pop(ns)
    }

    /// SetEventBufferDepth from the host side (false for n < 1).
    pub fn set_depth(&self, n: i32) -> bool {
        // SAFETY: conn valid forever.
        unsafe { ffi::h_conn_set_depth(self.conn, n.into()) == 1 }
    }

    /// The current buffer depth (1 at start, as in 1C).
    pub fn depth(&self) -> i32 {
        // SAFETY: conn valid forever.
        unsafe { ffi::h_conn_depth(self.conn) as i32 }
    }

    /// CleanEventBuffer from the host side.
    pub fn clean(&self) {
        // SAFETY: conn valid forever.
        unsafe { ffi::h_conn_clean(self.conn) }
    }

    /// Accepted / refused / queued counters.
    pub fn stats(&self) -> EventStats {
        let mut s = EventStats::default();
        // SAFETY: conn valid forever; out-pointers valid.
        unsafe { ffi::h_conn_stats(self.conn, &mut s.accepted, &mut s.refused, &mut s.queued) };
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mono_clock_advances() {
        let a = super::mono_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(super::mono_ns() >= a + 1_000_000);
    }
}
