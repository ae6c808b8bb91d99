//! A loaded add-in library: `dlopen` and what 1C asks the library before creating objects.

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{host_err, HostError};
use crate::ffi;
use crate::object::{Object, Options};
use crate::violations::add_violation;
use crate::wide::read_z;

/// 1C's `eAppCapabilitiesLast` in the current SDK: what 8.3.2x passes to `SetPlatformCapabilities`.
pub const PLATFORM_CAPABILITIES: i32 = 3;

pub(crate) struct LibInner {
    pub(crate) raw: *mut ffi::Lib,
    path: PathBuf,
    class_names: Vec<String>,
    capabilities: Option<i32>,
    attach_type: Option<i32>,
}

// SAFETY: the C++ Lib is immutable after h_lib_open and never freed; the add-in's exported
// functions are process-global.
unsafe impl Send for LibInner {}
// SAFETY: as above.
unsafe impl Sync for LibInner {}

/// A loaded add-in library (never unloaded, as in 1C).
#[derive(Clone)]
pub struct Library {
    inner: Arc<LibInner>,
}

impl Library {
    /// `dlopen`s the library, then calls `GetClassNames`, `SetPlatformCapabilities(3)` and
    /// `GetAttachType` like 1C's ПодключитьВнешнююКомпоненту.
    pub fn load(path: impl AsRef<Path>) -> Result<Library, HostError> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(host_err(format!("no add-in library at {}", path.display())));
        }
        let cpath = path_cstring(path)?;
        let mut err = vec![0 as c_char; 1024];
        // SAFETY: cpath is NUL-terminated; err is a writable buffer of err.len() bytes.
        let raw = unsafe { ffi::h_lib_open(cpath.as_ptr(), err.as_mut_ptr(), err.len()) };
        if raw.is_null() {
            // SAFETY: the C++ side wrote a NUL-terminated message with snprintf (or left zeros).
            let msg = unsafe { CStr::from_ptr(err.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            return Err(host_err(format!("cannot load {}: {msg}", path.display())));
        }
        // SAFETY: raw is a valid Lib.
        let names = unsafe { ffi::h_lib_class_names(raw) };
        if names.is_null() {
            add_violation(0, "GetClassNames returned NULL");
            return Err(host_err("GetClassNames returned NULL"));
        }
        // SAFETY: GetClassNames returns a static NUL-terminated string.
        let names = String::from_utf16_lossy(&unsafe { read_z(names) });
        let class_names = names
            .split('|')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let mut caps = 0;
        // SAFETY: raw is valid; caps is a valid out-pointer.
        let capabilities = (unsafe { ffi::h_lib_set_caps(raw, PLATFORM_CAPABILITIES, &mut caps) }
            == 1)
            .then_some(caps);
        let mut at = 0;
        // SAFETY: raw is valid; at is a valid out-pointer.
        let attach_type = (unsafe { ffi::h_lib_attach_type(raw, &mut at) } == 1).then_some(at);
        Ok(Library {
            inner: Arc::new(LibInner {
                raw,
                path: path.to_path_buf(),
                class_names,
                capabilities,
                attach_type,
            }),
        })
    }

    /// The library's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// `GetClassNames` split at '|'.
    pub fn class_names(&self) -> Vec<String> {
        self.inner.class_names.clone()
    }

    /// What `SetPlatformCapabilities(3)` returned (None: not exported).
    pub fn capabilities(&self) -> Option<i32> {
        self.inner.capabilities
    }

    /// What `GetAttachType` returned (None: not exported).
    pub fn attach_type(&self) -> Option<i32> {
        self.inner.attach_type
    }

    /// Creates an object as `Новый("AddIn.<Name>.<Ext>")` does: `GetClassObject`, `Init`,
    /// `setMemManager`, `GetInfo`, `RegisterExtensionAs`, `SetLocale`,
    /// `SetUserInterfaceLanguageCode`, then every property and method name for alias 0 and 1.
    pub fn create(&self, class: &str, opts: &Options) -> Result<Object, HostError> {
        Object::create(&self.inner, class, opts)
    }
}

#[cfg(unix)]
fn path_cstring(path: &Path) -> Result<CString, HostError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| host_err("path contains NUL"))
}

#[cfg(not(unix))]
fn path_cstring(path: &Path) -> Result<CString, HostError> {
    CString::new(path.to_string_lossy().as_bytes()).map_err(|_| host_err("path contains NUL"))
}
