//! chat1c-host: a 1C-faithful host for 1C:Enterprise Native API add-ins.
//!
//! The platform side (connection, memory manager, calls through `IComponentBase`) is C++
//! compiled against 1C's official headers (see `build.rs` and `cpp/host.cpp`); this crate is the
//! safe Rust API over it:
//!
//! ```no_run
//! use chat1c_host::{Library, Options, Value};
//! let lib = Library::load(chat1c_host::addin_path()).unwrap();
//! let mut chat = lib.create("Chat", &Options::default()).unwrap();
//! chat.call("Open", &[Value::str("/tmp/chat.db"), Value::str("alice")]).unwrap();
//! let events = chat.events();
//! for ev in events.pump() { println!("{} {} {}", ev.source, ev.message, ev.data) }
//! chat.destroy();
//! assert!(chat1c_host::violations().is_empty());
//! ```
//!
//! What 1C does and this host does too: load (`GetClassNames`, `SetPlatformCapabilities`,
//! `GetAttachType`), create (`GetClassObject`, `Init`, `setMemManager`, `GetInfo`,
//! `RegisterExtensionAs`, `SetLocale`, `SetUserInterfaceLanguageCode`, names for alias 0 and 1),
//! call by name with BSL semantics, free every buffer the add-in hands over through the tracked
//! memory manager, queue external events (depth 1 at start), and `Done` + `DestroyObject`.
//! Everything the add-in gets wrong is recorded as a *violation* (see [`violations`]).

mod client;
mod ffi;
mod value;

pub use client::Client;
pub use value::Value;

use std::ffi::{c_char, CStr, CString};
use std::fmt;
use std::os::raw::c_long;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// 1C's `eAppCapabilitiesLast` in the current SDK: what 8.3.2x passes to `SetPlatformCapabilities`.
pub const PLATFORM_CAPABILITIES: i32 = 3;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// More parameters than this from `GetNParams` is treated as a broken add-in.
const MAX_PARAMS: usize = 1024;

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

fn host_err(message: impl Into<String>) -> HostError {
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

fn platform_err(message: String) -> CallError {
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

fn u16z(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Reads a NUL-terminated UTF-16 string (at most 1 Mi units).
///
/// # Safety
/// `p` must be non-null and point at a NUL-terminated UTF-16 string (or at least 1 Mi units).
unsafe fn read_z(p: *const u16) -> Vec<u16> {
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

fn add_violation(owner: u64, text: &str) {
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

/// The violations recorded for one object (see [`Object::id`]), including those that happen
/// after it was destroyed (e.g. a thread calling `ExternalEvent` after `Done`).
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

/// CLOCK_MONOTONIC in nanoseconds (system-wide: comparable across processes).
pub fn mono_ns() -> u64 {
    // SAFETY: plain call.
    unsafe { ffi::h_mono_ns() }
}

/// The target profile folder of the running executable (target/<profile>), also for tests
/// (whose executables live in target/<profile>/deps).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples")
    {
        dir.pop();
    }
    dir
}

/// Runs `cargo build -p <package>` for the running executable's target folder and
/// profile, once per process, when running under cargo (`CARGO` is set). `cargo test`
/// does not re-link the cdylib nor build other packages' binaries, and a stale
/// library would test old code; cargo makes this a no-op when nothing changed.
fn ensure_built(package: &'static str, done: &'static OnceLock<()>) {
    done.get_or_init(|| {
        let Some(cargo) = std::env::var_os("CARGO") else {
            return;
        };
        let dir = profile_dir();
        let profile = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "debug".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("Cargo.toml");
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-q", "-p", package])
            .arg("--manifest-path")
            .arg(workspace);
        // The test runner's per-crate variables (CARGO_MANIFEST_DIR, CARGO_PKG_*) would
        // dirty build scripts that watch them (ring does) and rebuild every time.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("CARGO_") && key != "CARGO_HOME" && !key.starts_with("CARGO_TARGET_")
            {
                cmd.env_remove(key);
            }
        }
        if profile != "debug" {
            cmd.args(["--profile", &profile]);
        }
        if let Some(target) = dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        match cmd.status() {
            Ok(s) if s.success() => {}
            other => eprintln!("chat1c-host: `cargo build -p {package}` failed: {other:?}"),
        }
    });
}

/// The add-in library to test: env `CHAT1C_LIB`, else libchat1c.so / libchat1c.dylib /
/// chat1c.dll in the running executable's target profile folder (built first when
/// running under cargo).
pub fn addin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CHAT1C_LIB") {
        return PathBuf::from(p);
    }
    static BUILT: OnceLock<()> = OnceLock::new();
    ensure_built("chat1c", &BUILT);
    profile_dir().join(format!(
        "{}chat1c{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// The CLI binary: env `CHAT1C_HOST_CLI`, else target/<profile>/chat1c-host (built
/// first when running under cargo).
pub fn cli_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CHAT1C_HOST_CLI") {
        return PathBuf::from(p);
    }
    static BUILT: OnceLock<()> = OnceLock::new();
    ensure_built("chat1c-host", &BUILT);
    profile_dir().join(format!("chat1c-host{}", std::env::consts::EXE_SUFFIX))
}

struct LibInner {
    raw: *mut ffi::Lib,
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
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        // SAFETY: plain constructors; the objects are kept alive forever by the C++ side.
        let (conn, mem) = unsafe { (ffi::h_conn_new(id), ffi::h_mem_new(id)) };
        if conn.is_null() || mem.is_null() {
            return Err(host_err("out of memory"));
        }
        let name = u16z(class);
        let mut comp: *mut ffi::Component = std::ptr::null_mut();
        // SAFETY: raw is valid, name is NUL-terminated, comp is a valid out-pointer.
        let r = unsafe { ffi::h_lib_create(self.inner.raw, name.as_ptr(), &mut comp) };
        if r == 0 || comp.is_null() {
            return Err(host_err(format!(
                "GetClassObject(\"{class}\") failed (returned {r})"
            )));
        }
        let mut obj = Object {
            lib: self.inner.clone(),
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

/// A tVariant array owned by the host; its strings/blobs are freed (tracked) on drop.
struct Vars {
    ptr: *mut ffi::Variant,
    n: usize,
    mem: *mut ffi::MemMgr,
    who: &'static CStr,
}

impl Vars {
    fn new(n: usize, mem: *mut ffi::MemMgr, who: &'static CStr) -> Result<Vars, CallError> {
        // SAFETY: plain allocation (never NULL for n = 0 unless out of memory).
        let ptr = unsafe { ffi::h_vars_new(n as c_long) };
        if ptr.is_null() {
            return Err(platform_err("out of memory".into()));
        }
        Ok(Vars { ptr, n, mem, who })
    }

    fn at(&self, i: usize) -> *mut ffi::Variant {
        assert!(i < self.n.max(1));
        // SAFETY: i is within the array allocated with max(n, 1) elements.
        unsafe { ffi::h_var_at(self.ptr, i as c_long) }
    }

    fn set(&self, i: usize, v: &Value) -> bool {
        let (h, _backing) = value::to_hval(v);
        // SAFETY: the element is valid; h's pointers are kept alive by _backing during the call.
        unsafe { ffi::h_var_set(self.mem, self.at(i), &h) == 1 }
    }

    fn get(&self, i: usize) -> (Value, Option<String>) {
        let mut h = ffi::HVal::new(0);
        // SAFETY: the element is valid; h is a valid out-pointer. Pointers in h are borrowed
        // from the element and copied by from_hval before the element is cleared.
        unsafe { ffi::h_var_get(self.at(i), &mut h) };
        value::from_hval(&h)
    }
}

impl Drop for Vars {
    fn drop(&mut self) {
        for i in 0..self.n.max(1) {
            // SAFETY: valid element; frees what it owns through the tracked memory manager.
            unsafe { ffi::h_var_clear(self.mem, self.at(i), self.who.as_ptr()) };
        }
        // SAFETY: allocated by h_vars_new, freed once.
        unsafe { ffi::h_vars_free(self.ptr) };
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bsl,
    Proc,
    Func,
}

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
        Events {
            conn: self.conn,
            id: self.id,
        }
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

    /// Asks for every property and method name (alias 0 and 1) like 1C, checking that
    /// `GetNProps`/`GetNMethods` match the names and that the names find themselves.
    fn check_names(&self) {
        let n_props = self.n_props();
        for i in 0..n_props {
            for alias in 0..2 {
                match self.prop_name(i, alias) {
                    Some(name) => {
                        let found = self.find_prop(&name);
                        if found != i {
                            add_violation(self.id, &format!(
                                "FindProp(\"{name}\") = {found}, but GetPropName({i}, {alias}) gave that name"
                            ));
                        }
                    }
                    None if alias == 0 => add_violation(
                        self.id,
                        &format!(
                            "GetPropName({i}, 0) returned NULL although GetNProps() = {n_props}"
                        ),
                    ),
                    None => {}
                }
            }
        }
        let n_methods = self.n_methods();
        for i in 0..n_methods {
            for alias in 0..2 {
                match self.method_name(i, alias) {
                    Some(name) => {
                        let found = self.find_method(&name);
                        if found != i {
                            add_violation(self.id, &format!(
                                "FindMethod(\"{name}\") = {found}, but GetMethodName({i}, {alias}) gave that name"
                            ));
                        }
                    }
                    None if alias == 0 => add_violation(
                        self.id,
                        &format!(
                        "GetMethodName({i}, 0) returned NULL although GetNMethods() = {n_methods}"
                    ),
                    ),
                    None => {}
                }
            }
            let np = self.n_params(i);
            if np < 0 || np as usize > MAX_PARAMS {
                add_violation(self.id, &format!("GetNParams({i}) = {np}"));
            }
        }
    }

    /// `GetNProps`.
    pub fn n_props(&self) -> i32 {
        if self.destroyed {
            return 0;
        }
        // SAFETY: comp is valid until destroyed (checked).
        unsafe { ffi::h_get_nprops(self.comp, self.id) as i32 }
    }

    /// `GetNMethods`.
    pub fn n_methods(&self) -> i32 {
        if self.destroyed {
            return 0;
        }
        // SAFETY: comp is valid until destroyed (checked).
        unsafe { ffi::h_get_nmethods(self.comp, self.id) as i32 }
    }

    /// `FindProp` with the spelling given (-1 when absent).
    pub fn find_prop(&self, name: &str) -> i32 {
        if self.destroyed {
            return -1;
        }
        let n = u16z(name);
        // SAFETY: comp valid; n is NUL-terminated.
        unsafe { ffi::h_find_prop(self.comp, self.id, n.as_ptr()) as i32 }
    }

    /// `FindMethod` with the spelling given (-1 when absent).
    pub fn find_method(&self, name: &str) -> i32 {
        if self.destroyed {
            return -1;
        }
        let n = u16z(name);
        // SAFETY: comp valid; n is NUL-terminated.
        unsafe { ffi::h_find_method(self.comp, self.id, n.as_ptr()) as i32 }
    }

    /// `GetPropName(i, alias)`; the host frees the returned buffer as 1C does.
    pub fn prop_name(&self, i: i32, alias: i32) -> Option<String> {
        if self.destroyed {
            return None;
        }
        // SAFETY: comp valid.
        let p = unsafe { ffi::h_get_prop_name(self.comp, self.id, i.into(), alias.into()) };
        self.take_name(p, c"host freeing a GetPropName result")
    }

    /// `GetMethodName(i, alias)`; the host frees the returned buffer as 1C does.
    pub fn method_name(&self, i: i32, alias: i32) -> Option<String> {
        if self.destroyed {
            return None;
        }
        // SAFETY: comp valid.
        let p = unsafe { ffi::h_get_method_name(self.comp, self.id, i.into(), alias.into()) };
        self.take_name(p, c"host freeing a GetMethodName result")
    }

    /// `GetNParams(i)`.
    pub fn n_params(&self, i: i32) -> i32 {
        if self.destroyed {
            return 0;
        }
        // SAFETY: comp valid.
        unsafe { ffi::h_get_nparams(self.comp, self.id, i.into()) as i32 }
    }

    /// `HasRetVal(i)`.
    pub fn has_ret_val(&self, i: i32) -> bool {
        // SAFETY: comp valid until destroyed (checked).
        !self.destroyed && unsafe { ffi::h_has_ret_val(self.comp, self.id, i.into()) }
    }

    /// `IsPropReadable(i)`.
    pub fn is_prop_readable(&self, i: i32) -> bool {
        // SAFETY: comp valid until destroyed (checked).
        !self.destroyed && unsafe { ffi::h_is_prop_readable(self.comp, self.id, i.into()) }
    }

    /// `IsPropWritable(i)`.
    pub fn is_prop_writable(&self, i: i32) -> bool {
        // SAFETY: comp valid until destroyed (checked).
        !self.destroyed && unsafe { ffi::h_is_prop_writable(self.comp, self.id, i.into()) }
    }

    /// `GetParamDefValue(m, p)`: None when it returns false.
    pub fn param_default(&self, m: i32, p: i32) -> Option<Value> {
        if self.destroyed {
            return None;
        }
        let vars = Vars::new(1, self.mem, c"host freeing a GetParamDefValue result").ok()?;
        // SAFETY: comp valid; the variant is valid and EMPTY.
        let ok = unsafe {
            ffi::h_get_param_def_value(self.comp, self.id, m.into(), p.into(), vars.at(0))
        };
        ok.then(|| self.read(&vars, 0, "GetParamDefValue"))
    }

    fn read(&self, vars: &Vars, i: usize, what: &str) -> Value {
        let (v, problem) = vars.get(i);
        if let Some(p) = problem {
            add_violation(self.id, &format!("{what}: {p}"));
        }
        v
    }

    /// Calls a method by name exactly as BSL does: `FindMethod`, `GetNParams`, omitted trailing
    /// arguments from `GetParamDefValue` (an error when it returns false), too many arguments
    /// is an error, `HasRetVal` → `CallAsFunc` else `CallAsProc`. A procedure returns `Empty`.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Value, CallError> {
        self.invoke(name, args, Mode::Bsl)
    }

    /// As [`Object::call`] but always through `CallAsProc`.
    pub fn call_as_proc(&mut self, name: &str, args: &[Value]) -> Result<(), CallError> {
        self.invoke(name, args, Mode::Proc).map(|_| ())
    }

    /// As [`Object::call`] but always through `CallAsFunc`.
    pub fn call_as_func(&mut self, name: &str, args: &[Value]) -> Result<Value, CallError> {
        self.invoke(name, args, Mode::Func)
    }

    fn failure(&self, errors_before: usize, platform_text: String) -> CallError {
        // SAFETY: conn is valid forever.
        let count = unsafe { ffi::h_conn_err_count(self.conn) };
        if count > errors_before {
            if let Some(e) = error_at(self.conn, count - 1) {
                return CallError {
                    message: e.descr,
                    wcode: e.wcode,
                    scode: e.scode,
                    source: e.source,
                };
            }
        }
        platform_err(platform_text)
    }

    fn invoke(&mut self, name: &str, args: &[Value], mode: Mode) -> Result<Value, CallError> {
        self.alive()?;
        let idx = self.find_method(name);
        if idx < 0 {
            return Err(platform_err(format!("Object method not found ({name})")));
        }
        let count = self.n_methods();
        if idx >= count {
            add_violation(
                self.id,
                &format!("FindMethod(\"{name}\") = {idx}, beyond GetNMethods() = {count}"),
            );
        }
        let n = self.n_params(idx);
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_PARAMS)
            .ok_or_else(|| {
                add_violation(self.id, &format!("GetNParams({idx}) = {n}"));
                platform_err(format!("Error calling context method ({name})"))
            })?;
        if args.len() > n {
            return Err(platform_err(format!("Too many actual parameters ({name})")));
        }
        let params = Vars::new(n, self.mem, c"host freeing a parameter after the call")?;
        for (i, a) in args.iter().enumerate() {
            if !params.set(i, a) {
                return Err(platform_err("AllocMemory failed for a parameter".into()));
            }
        }
        for i in args.len()..n {
            // SAFETY: comp valid; the variant is valid and EMPTY.
            let ok = unsafe {
                ffi::h_get_param_def_value(
                    self.comp,
                    self.id,
                    idx.into(),
                    i as c_long,
                    params.at(i),
                )
            };
            if !ok {
                return Err(platform_err(format!(
                    "Not enough actual parameters ({name})"
                )));
            }
        }
        let as_func = match mode {
            Mode::Bsl => self.has_ret_val(idx),
            Mode::Proc => false,
            Mode::Func => true,
        };
        // SAFETY: conn is valid forever.
        let errors_before = unsafe { ffi::h_conn_err_count(self.conn) };
        let (ok, value) = if as_func {
            let ret = Vars::new(1, self.mem, c"host freeing the value the add-in returned")?;
            // SAFETY: comp valid; ret and params are valid arrays (params has max(n,1) elements).
            let ok = unsafe {
                ffi::h_call_as_func(
                    self.comp,
                    self.id,
                    idx.into(),
                    ret.at(0),
                    params.at(0),
                    n as c_long,
                )
            };
            (ok, self.read(&ret, 0, "CallAsFunc result"))
        } else {
            // SAFETY: comp valid; params is a valid array.
            let ok = unsafe {
                ffi::h_call_as_proc(self.comp, self.id, idx.into(), params.at(0), n as c_long)
            };
            (ok, Value::Empty)
        };
        if ok {
            Ok(value)
        } else {
            Err(self.failure(
                errors_before,
                format!("Error calling context method ({name})"),
            ))
        }
    }

    fn prop_index(&self, prop: &str) -> Result<i32, CallError> {
        self.alive()?;
        let idx = self.find_prop(prop);
        if idx < 0 {
            return Err(platform_err(format!("Object field not found ({prop})")));
        }
        let count = self.n_props();
        if idx >= count {
            add_violation(
                self.id,
                &format!("FindProp(\"{prop}\") = {idx}, beyond GetNProps() = {count}"),
            );
        }
        Ok(idx)
    }

    /// Reads a property as BSL does: `FindProp`, `IsPropReadable`, `GetPropVal`.
    pub fn get(&self, prop: &str) -> Result<Value, CallError> {
        let idx = self.prop_index(prop)?;
        if !self.is_prop_readable(idx) {
            return Err(platform_err(format!(
                "Object field is not readable ({prop})"
            )));
        }
        let vars = Vars::new(1, self.mem, c"host freeing a property value")?;
        // SAFETY: conn valid forever.
        let errors_before = unsafe { ffi::h_conn_err_count(self.conn) };
        // SAFETY: comp valid; the variant is valid and EMPTY.
        let ok = unsafe { ffi::h_get_prop_val(self.comp, self.id, idx.into(), vars.at(0)) };
        let v = self.read(&vars, 0, "GetPropVal");
        if ok {
            Ok(v)
        } else {
            Err(self.failure(
                errors_before,
                format!("Error getting object field ({prop})"),
            ))
        }
    }

    /// Writes a property as BSL does: `FindProp`, `IsPropWritable`, `SetPropVal`.
    pub fn set(&mut self, prop: &str, v: Value) -> Result<(), CallError> {
        let idx = self.prop_index(prop)?;
        if !self.is_prop_writable(idx) {
            return Err(platform_err(format!("Object field is read-only ({prop})")));
        }
        let vars = Vars::new(
            1,
            self.mem,
            c"host freeing a property value after SetPropVal",
        )?;
        if !vars.set(0, &v) {
            return Err(platform_err("AllocMemory failed for a value".into()));
        }
        // SAFETY: conn valid forever.
        let errors_before = unsafe { ffi::h_conn_err_count(self.conn) };
        // SAFETY: comp valid; the variant is valid.
        let ok = unsafe { ffi::h_set_prop_val(self.comp, self.id, idx.into(), vars.at(0)) };
        if ok {
            Ok(())
        } else {
            Err(self.failure(
                errors_before,
                format!("Error setting object field ({prop})"),
            ))
        }
    }

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

fn error_at(conn: *mut ffi::Conn, i: usize) -> Option<AddedError> {
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

fn errors_of(conn: *mut ffi::Conn) -> Vec<AddedError> {
    // SAFETY: conn valid forever.
    let n = unsafe { ffi::h_conn_err_count(conn) };
    (0..n).filter_map(|i| error_at(conn, i)).collect()
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
    fn flat_view_matches_the_cpp_struct() {
        // SAFETY: plain calls.
        let (hval, var) = unsafe { (crate::ffi::h_sizeof_hval(), crate::ffi::h_sizeof_variant()) };
        assert_eq!(hval, std::mem::size_of::<crate::ffi::HVal>());
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        assert_eq!(var, 64, "tVariant on Linux x86_64 is 64 bytes");
        assert!(var > 0);
    }

    #[test]
    fn mono_clock_advances() {
        let a = super::mono_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(super::mono_ns() >= a + 1_000_000);
    }
}
