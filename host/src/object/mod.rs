//! One add-in object, driven as 1C drives it. Each concern of it has its own file:
//! creation (`create`), the raw `IComponentBase` calls (`vtable`), calling methods by name
//! (`call`) and reading and writing properties (`props`); this file holds the object's
//! state, what it reports and its end.

mod call;
mod create;
mod members;
mod props;
mod vtable;

pub use create::Options;

use std::ffi::CStr;
use std::sync::Arc;

use crate::error::{error_at, errors_of, platform_err, AddedError, CallError};
use crate::events::Events;
use crate::ffi;
use crate::library::LibInner;
use crate::value::Value;
use crate::vars::Vars;
use crate::violations::{add_violation, violations_of};
use crate::wide::read_z;

/// More parameters than this from `GetNParams` is treated as a broken add-in.
const MAX_PARAMS: usize = 1024;

/// One add-in object (`Новый("AddIn.Chat.Chat")`). Dropping it does `Done` + `DestroyObject`.
pub struct Object {
    lib: Arc<LibInner>,
    comp: *mut ffi::Component,
    conn: *mut ffi::Conn,
    mem: *mut ffi::MemMgr,
    id: u64,
    info: i32,
    extension: String,
    destroyed: bool,
}

// SAFETY: 1C calls an object from one thread at a time; `Object` is not Sync, so this holds.
unsafe impl Send for Object {}

/// What destroying an object found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destroyed {
    /// Memory-manager blocks of this object still live after `DestroyObject`.
    pub leaks: usize,
    /// This object's violations recorded so far.
    pub violations: Vec<String>,
}

impl Object {
    /// This object's id (the owner tag of its violations).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// What `GetInfo` returned at creation.
    pub fn info(&self) -> i32 {
        self.info
    }

    /// What `RegisterExtensionAs` gave at creation.
    pub fn extension_name(&self) -> String {
        self.extension.clone()
    }

    /// The object's event queue (usable from any thread, also after destroy).
    pub fn events(&self) -> Events {
        Events::new(self.conn, self.id)
    }

    /// Every `AddError` the add-in made on this object, oldest first.
    pub fn errors(&self) -> Vec<AddedError> {
        errors_of(self.conn)
    }

    /// This object's violations so far.
    pub fn violations(&self) -> Vec<String> {
        violations_of(self.id)
    }

    /// Blocks of this object's memory manager not freed yet.
    pub fn live_allocations(&self) -> usize {
        // SAFETY: mem is valid forever; bytes out-pointer may be null.
        unsafe { ffi::h_mem_live(self.mem, std::ptr::null_mut()) }
    }

    fn alive(&self) -> Result<(), CallError> {
        if self.destroyed {
            Err(platform_err("the object has been destroyed".into()))
        } else {
            Ok(())
        }
    }

    /// Reads and frees (through the tracked manager) a name the add-in allocated.
    fn take_name(&self, p: *const u16, who: &'static CStr) -> Option<String> {
        if p.is_null() {
            return None;
        }
        // SAFETY: the add-in returned a NUL-terminated UTF-16 string.
        let units = unsafe { read_z(p) };
        // SAFETY: mem is valid; an unknown pointer is reported and left alone.
        unsafe { ffi::h_mem_release(self.mem, p as *mut _, who.as_ptr()) };
        Some(String::from_utf16_lossy(&units))
    }

    /// Reads element `i` of `vars`, recording a malformed variant as a violation.
    fn read(&self, vars: &Vars, i: usize, what: &str) -> Value {
        let (v, problem) = vars.get(i);
        if let Some(p) = problem {
            add_violation(self.id, &format!("{what}: {p}"));
        }
        v
    }

    /// What a call that returned `ok` comes to in BSL: `value`, or the exception — the last
    /// `AddError` made during the call (`errors_before` counts those made before it), else
    /// the platform's own text.
    fn outcome<T>(
        &self,
        ok: bool,
        value: T,
        errors_before: usize,
        platform_text: impl FnOnce() -> String,
    ) -> Result<T, CallError> {
        if ok {
            return Ok(value);
        }
        // SAFETY: conn is valid forever.
        let count = unsafe { ffi::h_conn_err_count(self.conn) };
        if count > errors_before {
            if let Some(e) = error_at(self.conn, count - 1) {
                return Err(CallError {
                    message: e.descr,
                    wcode: e.wcode,
                    scode: e.scode,
                    source: e.source,
                });
            }
        }
        Err(platform_err(platform_text()))
    }

    /// `Done` and `DestroyObject` once; returns the buffers still live (leaked).
    fn teardown(&mut self) -> usize {
        if self.destroyed {
            return 0;
        }
        self.destroyed = true;
        // SAFETY: comp and conn are valid; h_done marks the connection dead after Done returns.
        unsafe { ffi::h_done(self.comp, self.id, self.conn) };
        let mut p = self.comp;
        // SAFETY: lib raw is valid; p is the object GetClassObject gave.
        let r = unsafe { ffi::h_lib_destroy(self.lib.raw, &mut p, self.id) };
        if r != 0 {
            add_violation(self.id, &format!("DestroyObject returned {r}"));
        }
        let mut bytes = 0usize;
        // SAFETY: mem valid forever; bytes is a valid out-pointer.
        let leaks = unsafe { ffi::h_mem_live(self.mem, &mut bytes) };
        if leaks > 0 {
            add_violation(
                self.id,
                &format!(
                    "{leaks} buffer(s), {bytes} bytes, allocated through IMemoryManager::AllocMemory \
                     were still live after DestroyObject (leaked)"
                ),
            );
        }
        leaks
    }

    /// `Done`, then `DestroyObject`; reports leaked buffers and this object's violations.
    pub fn destroy(mut self) -> Destroyed {
        let leaks = self.teardown();
        Destroyed {
            leaks,
            violations: violations_of(self.id),
        }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        self.teardown();
    }
}
