//! Creating an object in 1C's order, and the names check 1C's first look at it amounts to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::members::{METHODS, PROPS};
use super::{Object, MAX_PARAMS};
use crate::error::{host_err, HostError};
use crate::ffi;
use crate::library::LibInner;
use crate::violations::add_violation;
use crate::wide::u16z;

/// Object ids, the owner tags of violations (0 is the library level).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How an object is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Passed to `SetUserInterfaceLanguageCode` ("en", "ru").
    pub lang: String,
    /// Passed to `SetLocale`; empty = "ru_RU" for lang "ru", else "en_US".
    pub locale: String,
    /// Call `setMemManager` before `Init` (the order is not guaranteed by 1C).
    pub mem_manager_first: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            lang: "en".into(),
            locale: String::new(),
            mem_manager_first: false,
        }
    }
}

impl Object {
    /// The body of [`crate::Library::create`] (which lists 1C's order).
    pub(crate) fn create(
        lib: &Arc<LibInner>,
        class: &str,
        opts: &Options,
    ) -> Result<Object, HostError> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        // SAFETY: plain constructors; the objects are kept alive forever by the C++ side.
        let (conn, mem) = unsafe { (ffi::h_conn_new(id), ffi::h_mem_new(id)) };
        if conn.is_null() || mem.is_null() {
            return Err(host_err("out of memory"));
        }
        let name = u16z(class);
        let mut comp: *mut ffi::Component = std::ptr::null_mut();
        // SAFETY: raw is valid, name is NUL-terminated, comp is a valid out-pointer.
        let r = unsafe { ffi::h_lib_create(lib.raw, name.as_ptr(), &mut comp) };
        if r == 0 || comp.is_null() {
            return Err(host_err(format!(
                "GetClassObject(\"{class}\") failed (returned {r})"
            )));
        }
        let mut obj = Object {
            lib: lib.clone(),
            comp,
            conn,
            mem,
            id,
            info: 0,
            extension: String::new(),
            destroyed: false,
        };
        // SAFETY (both closures): comp, conn and mem are valid for the object's life.
        let init = || unsafe { ffi::h_init(comp, id, conn) };
        let set_mem = || unsafe { ffi::h_set_mem(comp, id, mem) };
        let (init_ok, mem_ok) = if opts.mem_manager_first {
            let m = set_mem();
            (init(), m)
        } else {
            let i = init();
            (i, set_mem())
        };
        if !init_ok || !mem_ok {
            let which = if init_ok { "setMemManager" } else { "Init" };
            obj.teardown();
            return Err(host_err(format!("{which} returned false")));
        }
        // SAFETY: comp is valid.
        obj.info = unsafe { ffi::h_get_info(comp, id) } as i32;
        let mut ext: *mut u16 = std::ptr::null_mut();
        // SAFETY: comp is valid; ext is a valid out-pointer.
        let ok = unsafe { ffi::h_register_extension_as(comp, id, &mut ext) };
        let ext_name = obj.take_name(ext, c"host freeing the RegisterExtensionAs name");
        match (ok, ext_name) {
            (true, Some(n)) => obj.extension = n,
            (true, None) => {
                add_violation(id, "RegisterExtensionAs returned true with a NULL name");
                obj.teardown();
                return Err(host_err("RegisterExtensionAs gave no name"));
            }
            (false, _) => {
                obj.teardown();
                return Err(host_err("RegisterExtensionAs returned false"));
            }
        }
        let locale = if opts.locale.is_empty() {
            if opts.lang == "ru" {
                "ru_RU"
            } else {
                "en_US"
            }
        } else {
            &opts.locale
        };
        let (loc, lang) = (u16z(locale), u16z(&opts.lang));
        // SAFETY: comp is valid; both strings are NUL-terminated and outlive the calls.
        unsafe {
            ffi::h_set_locale(comp, id, loc.as_ptr());
            ffi::h_set_ui_lang(comp, id, lang.as_ptr());
        }
        obj.check_names();
        Ok(obj)
    }

    /// Asks for every property and method name (alias 0 and 1) like 1C, checking that
    /// `GetNProps`/`GetNMethods` match the names and that the names find themselves.
    fn check_names(&self) {
        let n_props = self.n_props();
        for i in 0..n_props {
            self.check_name(&PROPS, i, n_props);
        }
        let n_methods = self.n_methods();
        for i in 0..n_methods {
            self.check_name(&METHODS, i, n_methods);
            let np = self.n_params(i);
            if np < 0 || np as usize > MAX_PARAMS {
                add_violation(self.id, &format!("GetNParams({i}) = {np}"));
            }
        }
    }
}
