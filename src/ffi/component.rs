//! The Chat object as 1C's C++ sees it: four interface pointers back to back
//! (IInitDoneBase, ILanguageExtenderBase, LocaleBase, UserLanguageBase), each with
//! its vtable. Every entry point catches panics; the destructor slots are real
//! functions, so a host that deletes through the vtable does not jump to 0.

use std::ffi::{c_long, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::connection::Link;
use super::memory::MemoryManager;
use super::variant::{self, TVariant};
use crate::addin::{table, Arg, Chat, ChatError, Ret};

/// Runs an entry point, turning a panic into `fallback` (a panic must not reach 1C).
fn guard<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

pub struct State {
    chat: Chat,
    memory: Option<MemoryManager>,
    link: Option<Arc<Link>>,
    finished: bool,
}

#[repr(C)]
pub struct Component {
    init_done: &'static InitDoneVTable,
    language: &'static LanguageVTable,
    locale: &'static LocaleVTable,
    user_language: &'static UserLanguageVTable,
    state: State,
}

/// `this` of interface number N points N words into the object.
unsafe fn state<'a, const N: usize>(this: *mut c_void) -> &'a mut State {
    // SAFETY: 1C passes the interface pointer we gave it; stepping back N words
    // reaches the start of the Component that owns it.
    unsafe { &mut (*this.cast::<usize>().sub(N).cast::<Component>()).state }
}

impl State {
    /// Done's work, also run by the destructors: after it, 1C is never called.
    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.chat.close();
            if let Some(link) = self.link.take() {
                link.kill();
            }
            self.memory = None;
        }
    }

    /// Reports a failure to 1C: the text goes to AddError, and the call returns false.
    fn report(&self, text: &str) -> bool {
        if let Some(link) = &self.link {
            link.add_error(text);
        }
        false
    }

    /// A failure found here (a panic, a read-only property): LastError and AddError.
    fn fail(&mut self, e: ChatError) -> bool {
        let text = self.chat.refuse(e);
        self.report(&text)
    }

    /// Decodes 1C's arguments and runs the method; `deliver` writes its result.
    fn invoke(
        &mut self,
        method: c_long,
        params: *mut TVariant,
        count: c_long,
        deliver: impl FnOnce(Ret) -> Result<(), ChatError>,
    ) -> bool {
        let count = usize::try_from(count).unwrap_or(0);
        let args: Vec<Arg> = if count == 0 || params.is_null() {
            Vec::new()
        } else {
            // SAFETY: 1C passes `count` variants at `params`.
            let raw = unsafe { std::slice::from_raw_parts(params, count) };
            // SAFETY: each variant was written by the host.
            raw.iter().map(|v| unsafe { variant::decode(v) }).collect()
        };
        let index = usize::try_from(method).unwrap_or(usize::MAX);
        match self.chat.invoke(index, &args, deliver) {
            Ok(()) => true,
            Err(text) => self.report(&text),
        }
    }

    fn name(&self, name: Option<&'static str>) -> *const u16 {
        match (name, self.memory) {
            (Some(n), Some(mem)) => mem.alloc_wide(n).map_or(std::ptr::null(), |(p, _)| p),
            _ => std::ptr::null(),
        }
    }
}

/// Reads a NUL-terminated UTF-16 string from 1C.
unsafe fn read_wide(ptr: *const u16) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: 1C's names are NUL-terminated; stop at a sane bound.
    while unsafe { *ptr.add(len) } != 0 {
        len += 1;
        if len > 4096 {
            return None;
        }
    }
    // SAFETY: `len` units were just read above.
    String::from_utf16(unsafe { std::slice::from_raw_parts(ptr, len) }).ok()
}

// ---- destructors: two slots on Itanium (complete, deleting), one on MSVC ----

#[cfg(not(windows))]
type Dtor = unsafe extern "C" fn(*mut c_void);
#[cfg(all(windows, target_arch = "x86"))]
type Dtor = unsafe extern "thiscall" fn(*mut c_void, u32) -> *mut c_void;
#[cfg(all(windows, not(target_arch = "x86")))]
type Dtor = unsafe extern "C" fn(*mut c_void, u32) -> *mut c_void;

#[cfg(not(windows))]
unsafe extern "C" fn dtor_complete<const N: usize>(this: *mut c_void) {
    // SAFETY: `this` is one of our interface pointers.
    guard((), || unsafe { state::<N>(this) }.finish());
}

#[cfg(not(windows))]
unsafe extern "C" fn dtor_deleting<const N: usize>(this: *mut c_void) {
    // SAFETY: `this` is one of our interface pointers; the host gives up the object.
    guard((), || unsafe {
        destroy(this.cast::<usize>().sub(N).cast())
    });
}

#[cfg(all(windows, target_arch = "x86"))]
unsafe extern "thiscall" fn dtor_msvc<const N: usize>(
    this: *mut c_void,
    flags: u32,
) -> *mut c_void {
    // SAFETY: as for the Itanium destructors.
    guard((), || unsafe { msvc_destroy::<N>(this, flags) });
    this
}

#[cfg(all(windows, not(target_arch = "x86")))]
unsafe extern "C" fn dtor_msvc<const N: usize>(this: *mut c_void, flags: u32) -> *mut c_void {
    // SAFETY: as for the Itanium destructors.
    guard((), || unsafe { msvc_destroy::<N>(this, flags) });
    this
}

#[cfg(windows)]
unsafe fn msvc_destroy<const N: usize>(this: *mut c_void, flags: u32) {
    // Bit 0 of the scalar deleting destructor's flags: free the memory too.
    if flags & 1 != 0 {
        // SAFETY: `this` is our interface pointer; the host gives up the object.
        unsafe { destroy(this.cast::<usize>().sub(N).cast()) }
    } else {
        // SAFETY: `this` is our interface pointer.
        unsafe { state::<N>(this) }.finish()
    }
}

macro_rules! dtors {
    ($n:literal) => {
        DtorSlots {
            #[cfg(not(windows))]
            complete: dtor_complete::<$n>,
            #[cfg(not(windows))]
            deleting: dtor_deleting::<$n>,
            #[cfg(windows)]
            deleting: dtor_msvc::<$n>,
        }
    };
}

#[repr(C)]
pub struct DtorSlots {
    #[cfg(not(windows))]
    complete: Dtor,
    deleting: Dtor,
}

// ---- IInitDoneBase ----

#[repr(C)]
pub struct InitDoneVTable {
    dtors: DtorSlots,
    init: unsafe extern "system" fn(*mut c_void, *mut c_void) -> bool,
    set_mem_manager: unsafe extern "system" fn(*mut c_void, *mut c_void) -> bool,
    get_info: unsafe extern "system" fn(*mut c_void) -> c_long,
    done: unsafe extern "system" fn(*mut c_void),
}

unsafe extern "system" fn init(this: *mut c_void, connection: *mut c_void) -> bool {
    guard(false, || {
        // SAFETY: `this` is interface 0.
        let s = unsafe { state::<0>(this) };
        match Link::new(connection) {
            Some(link) => {
                let link = Arc::new(link);
                s.chat.set_event_sink(link.clone());
                s.link = Some(link);
                true
            }
            None => false,
        }
    })
}

unsafe extern "system" fn set_mem_manager(this: *mut c_void, memory: *mut c_void) -> bool {
    guard(false, || {
        // SAFETY: `this` is interface 0.
        let s = unsafe { state::<0>(this) };
        s.memory = MemoryManager::new(memory);
        s.memory.is_some()
    })
}

unsafe extern "system" fn get_info(_this: *mut c_void) -> c_long {
    2000
}

unsafe extern "system" fn done(this: *mut c_void) {
    // SAFETY: `this` is interface 0.
    guard((), || unsafe { state::<0>(this) }.finish());
}

static INIT_DONE: InitDoneVTable = InitDoneVTable {
    dtors: dtors!(0),
    init,
    set_mem_manager,
    get_info,
    done,
};

// ---- ILanguageExtenderBase ----

#[repr(C)]
pub struct LanguageVTable {
    dtors: DtorSlots,
    register_extension_as: unsafe extern "system" fn(*mut c_void, *mut *mut u16) -> bool,
    get_n_props: unsafe extern "system" fn(*mut c_void) -> c_long,
    find_prop: unsafe extern "system" fn(*mut c_void, *const u16) -> c_long,
    get_prop_name: unsafe extern "system" fn(*mut c_void, c_long, c_long) -> *const u16,
    get_prop_val: unsafe extern "system" fn(*mut c_void, c_long, *mut TVariant) -> bool,
    set_prop_val: unsafe extern "system" fn(*mut c_void, c_long, *mut TVariant) -> bool,
    is_prop_readable: unsafe extern "system" fn(*mut c_void, c_long) -> bool,
    is_prop_writable: unsafe extern "system" fn(*mut c_void, c_long) -> bool,
    get_n_methods: unsafe extern "system" fn(*mut c_void) -> c_long,
    find_method: unsafe extern "system" fn(*mut c_void, *const u16) -> c_long,
    get_method_name: unsafe extern "system" fn(*mut c_void, c_long, c_long) -> *const u16,
    get_n_params: unsafe extern "system" fn(*mut c_void, c_long) -> c_long,
    get_param_def_value:
        unsafe extern "system" fn(*mut c_void, c_long, c_long, *mut TVariant) -> bool,
    has_ret_val: unsafe extern "system" fn(*mut c_void, c_long) -> bool,
    call_as_proc: unsafe extern "system" fn(*mut c_void, c_long, *mut TVariant, c_long) -> bool,
    call_as_func: unsafe extern "system" fn(
        *mut c_void,
        c_long,
        *mut TVariant,
        *mut TVariant,
        c_long,
    ) -> bool,
}

fn method(m: c_long) -> Option<&'static table::Method> {
    usize::try_from(m).ok().and_then(|i| table::METHODS.get(i))
}

fn property(p: c_long) -> Option<&'static table::Property> {
    usize::try_from(p)
        .ok()
        .and_then(|i| table::PROPERTIES.get(i))
}

fn index(found: Option<usize>) -> c_long {
    found.and_then(|i| c_long::try_from(i).ok()).unwrap_or(-1)
}

unsafe extern "system" fn register_extension_as(this: *mut c_void, out: *mut *mut u16) -> bool {
    guard(false, || {
        // SAFETY: `this` is interface 1.
        let s = unsafe { state::<1>(this) };
        let name = s.name(Some(super::CLASS_NAME));
        if name.is_null() || out.is_null() {
            return false;
        }
        // SAFETY: `out` is 1C's out-pointer.
        unsafe { *out = name.cast_mut() };
        true
    })
}

unsafe extern "system" fn get_n_props(_this: *mut c_void) -> c_long {
    table::PROPERTIES.len() as c_long
}

unsafe extern "system" fn find_prop(_this: *mut c_void, name: *const u16) -> c_long {
    guard(-1, || {
        // SAFETY: 1C passes a NUL-terminated name.
        let name = unsafe { read_wide(name) };
        index(name.and_then(|n| table::find_property(&n)))
    })
}

unsafe extern "system" fn get_prop_name(this: *mut c_void, p: c_long, alias: c_long) -> *const u16 {
    guard(std::ptr::null(), || {
        // SAFETY: `this` is interface 1.
        let s = unsafe { state::<1>(this) };
        let alias = usize::try_from(alias).ok();
        s.name(
            property(p)
                .zip(alias)
                .and_then(|(p, a)| table::alias(p.en, p.ru, a)),
        )
    })
}

unsafe extern "system" fn get_prop_val(this: *mut c_void, p: c_long, out: *mut TVariant) -> bool {
    guard(false, || {
        // SAFETY: `this` is interface 1.
        let s = unsafe { state::<1>(this) };
        let memory = s.memory;
        let index = usize::try_from(p).unwrap_or(usize::MAX);
        // SAFETY: `out` is 1C's result variant (checked non-null).
        let out = unsafe { out.as_mut() };
        match s
            .chat
            .read_property(index, |value| deliver(value, out, memory))
        {
            Ok(()) => true,
            Err(text) => s.report(&text),
        }
    })
}

/// Writes a result into 1C's variant, its strings into 1C's memory.
fn deliver(
    value: Ret,
    out: Option<&mut TVariant>,
    memory: Option<MemoryManager>,
) -> Result<(), ChatError> {
    match (out, memory) {
        (Some(out), Some(mem)) => variant::encode(&value, out, &mem),
        _ => Err(ChatError::Memory),
    }
}

unsafe extern "system" fn set_prop_val(this: *mut c_void, _p: c_long, _v: *mut TVariant) -> bool {
    guard(false, || {
        // SAFETY: `this` is interface 1.
        let s = unsafe { state::<1>(this) };
        s.fail(ChatError::ReadOnlyProperty)
    })
}

unsafe extern "system" fn is_prop_readable(_this: *mut c_void, p: c_long) -> bool {
    property(p).is_some()
}

unsafe extern "system" fn is_prop_writable(_this: *mut c_void, _p: c_long) -> bool {
    false
}

unsafe extern "system" fn get_n_methods(_this: *mut c_void) -> c_long {
    table::METHODS.len() as c_long
}

unsafe extern "system" fn find_method(_this: *mut c_void, name: *const u16) -> c_long {
    guard(-1, || {
        // SAFETY: 1C passes a NUL-terminated name.
        let name = unsafe { read_wide(name) };
        index(name.and_then(|n| table::find_method(&n)))
    })
}

unsafe extern "system" fn get_method_name(
    this: *mut c_void,
    m: c_long,
    alias: c_long,
) -> *const u16 {
    guard(std::ptr::null(), || {
        // SAFETY: `this` is interface 1.
        let s = unsafe { state::<1>(this) };
        let alias = usize::try_from(alias).ok();
        s.name(
            method(m)
                .zip(alias)
                .and_then(|(m, a)| table::alias(m.en, m.ru, a)),
        )
    })
}

unsafe extern "system" fn get_n_params(_this: *mut c_void, m: c_long) -> c_long {
    method(m).map_or(0, |m| m.params.len() as c_long)
}

unsafe extern "system" fn get_param_def_value(
    this: *mut c_void,
    m: c_long,
    p: c_long,
    out: *mut TVariant,
) -> bool {
    guard(false, || {
        // SAFETY: `this` is interface 1.
        let s = unsafe { state::<1>(this) };
        let param = method(m).and_then(|m| usize::try_from(p).ok().and_then(|p| m.params.get(p)));
        let Some(default) = param.and_then(|p| p.default) else {
            return false;
        };
        // SAFETY: `out` is 1C's variant for the default (checked non-null).
        deliver(default.into(), unsafe { out.as_mut() }, s.memory).is_ok()
    })
}

unsafe extern "system" fn has_ret_val(_this: *mut c_void, m: c_long) -> bool {
    method(m).is_some_and(|m| m.returns)
}

unsafe extern "system" fn call_as_proc(
    this: *mut c_void,
    m: c_long,
    params: *mut TVariant,
    n: c_long,
) -> bool {
    // SAFETY: `this` is interface 1.
    let s = unsafe { state::<1>(this) };
    let done = guard(None, || Some(s.invoke(m, params, n, |_| Ok(()))));
    done.unwrap_or_else(|| guard(false, || s.fail(ChatError::Internal("panic".into()))))
}

unsafe extern "system" fn call_as_func(
    this: *mut c_void,
    m: c_long,
    out: *mut TVariant,
    params: *mut TVariant,
    n: c_long,
) -> bool {
    // SAFETY: `this` is interface 1.
    let s = unsafe { state::<1>(this) };
    let memory = s.memory;
    let done = guard(None, || {
        // SAFETY: `out` is 1C's result variant (checked non-null).
        let out = unsafe { out.as_mut() };
        Some(s.invoke(m, params, n, |ret| deliver(ret, out, memory)))
    });
    done.unwrap_or_else(|| guard(false, || s.fail(ChatError::Internal("panic".into()))))
}

static LANGUAGE: LanguageVTable = LanguageVTable {
    dtors: dtors!(1),
    register_extension_as,
    get_n_props,
    find_prop,
    get_prop_name,
    get_prop_val,
    set_prop_val,
    is_prop_readable,
    is_prop_writable,
    get_n_methods,
    find_method,
    get_method_name,
    get_n_params,
    get_param_def_value,
    has_ret_val,
    call_as_proc,
    call_as_func,
};

// ---- LocaleBase and UserLanguageBase ----

#[repr(C)]
pub struct LocaleVTable {
    dtors: DtorSlots,
    set_locale: unsafe extern "system" fn(*mut c_void, *const u16),
}

#[repr(C)]
pub struct UserLanguageVTable {
    dtors: DtorSlots,
    set_user_interface_language_code: unsafe extern "system" fn(*mut c_void, *const u16),
}

unsafe extern "system" fn set_locale(_this: *mut c_void, _locale: *const u16) {
    // Texts follow the user's interface language (below), not the data locale.
}

unsafe extern "system" fn set_user_interface_language_code(this: *mut c_void, code: *const u16) {
    guard((), || {
        // SAFETY: `this` is interface 3; 1C passes a NUL-terminated code.
        let (s, code) = unsafe { (state::<3>(this), read_wide(code)) };
        if let Some(code) = code {
            s.chat.set_language(&code);
        }
    })
}

static LOCALE: LocaleVTable = LocaleVTable {
    dtors: dtors!(2),
    set_locale,
};
static USER_LANGUAGE: UserLanguageVTable = UserLanguageVTable {
    dtors: dtors!(3),
    set_user_interface_language_code,
};

// ---- creation and destruction ----

/// A new object, as GetClassObject hands it to 1C (pointer to interface 0).
pub fn create() -> *mut Component {
    Box::into_raw(Box::new(Component {
        init_done: &INIT_DONE,
        language: &LANGUAGE,
        locale: &LOCALE,
        user_language: &USER_LANGUAGE,
        state: State {
            chat: Chat::new(),
            memory: None,
            link: None,
            finished: false,
        },
    }))
}

/// Finishes (if Done was skipped) and frees an object made by [`create`].
///
/// # Safety
/// `component` must come from [`create`] and not have been destroyed.
pub unsafe fn destroy(component: *mut Component) {
    // SAFETY: guaranteed by the caller.
    let mut boxed = unsafe { Box::from_raw(component) };
    boxed.state.finish();
}
