//! Declarations of the C++ side (cpp/host.cpp). Every type here is opaque except [`HVal`],
//! the host's own flat view of a `tVariant` (the real `tVariant` layout stays in C++).

use std::os::raw::{c_char, c_int, c_long, c_longlong};

/// Opaque C++ objects.
#[repr(C)]
pub struct Lib {
    _p: [u8; 0],
}
#[repr(C)]
pub struct Conn {
    _p: [u8; 0],
}
#[repr(C)]
pub struct MemMgr {
    _p: [u8; 0],
}
#[repr(C)]
pub struct Component {
    _p: [u8; 0],
}
#[repr(C)]
pub struct Variant {
    _p: [u8; 0],
}
#[repr(C)]
pub struct Ev {
    _p: [u8; 0],
}

/// Flat view of a tVariant; mirrors `struct HVal` in host.cpp (checked by a test).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HVal {
    pub vt: u16,
    pub b: u8,
    pub i4: i32,
    pub i8: i64,
    pub r8: f64,
    pub tm: [i32; 9],
    pub ptr: *const std::ffi::c_void,
    pub len: u32,
}

impl HVal {
    pub fn new(vt: u16) -> HVal {
        HVal {
            vt,
            b: 0,
            i4: 0,
            i8: 0,
            r8: 0.0,
            tm: [0; 9],
            ptr: std::ptr::null(),
            len: 0,
        }
    }
}

pub const VT_EMPTY: u16 = 0;
pub const VT_NULL: u16 = 1;
pub const VT_I2: u16 = 2;
pub const VT_I4: u16 = 3;
pub const VT_R4: u16 = 4;
pub const VT_R8: u16 = 5;
pub const VT_DATE: u16 = 6;
pub const VT_TM: u16 = 7;
pub const VT_PSTR: u16 = 8;
pub const VT_ERROR: u16 = 10;
pub const VT_BOOL: u16 = 11;
pub const VT_I1: u16 = 13;
pub const VT_UI1: u16 = 14;
pub const VT_UI2: u16 = 15;
pub const VT_UI4: u16 = 16;
pub const VT_I8: u16 = 17;
pub const VT_UI8: u16 = 18;
pub const VT_INT: u16 = 19;
pub const VT_UINT: u16 = 20;
pub const VT_HRESULT: u16 = 21;
pub const VT_PWSTR: u16 = 22;
pub const VT_BLOB: u16 = 23;

extern "C" {
    #[allow(dead_code)] // used by the unit tests
    pub fn h_sizeof_hval() -> usize;
    #[allow(dead_code)] // used by the unit tests
    pub fn h_sizeof_variant() -> usize;
    pub fn h_mono_ns() -> u64;

    pub fn h_viol_count() -> usize;
    pub fn h_viol_get(
        i: usize,
        owner: *mut u64,
        text: *mut *const c_char,
        len: *mut usize,
    ) -> c_int;
    pub fn h_viol_add(owner: u64, text: *const c_char, len: usize);

    pub fn h_mem_new(owner: u64) -> *mut MemMgr;
    pub fn h_mem_live(m: *mut MemMgr, bytes: *mut usize) -> usize;
    pub fn h_live_total() -> usize;
    pub fn h_mem_release(m: *mut MemMgr, p: *mut std::ffi::c_void, who: *const c_char) -> c_int;

    pub fn h_conn_new(owner: u64) -> *mut Conn;
    pub fn h_conn_set_depth(c: *mut Conn, d: c_long) -> c_int;
    pub fn h_conn_depth(c: *mut Conn) -> c_long;
    pub fn h_conn_clean(c: *mut Conn);
    pub fn h_conn_stats(c: *mut Conn, accepted: *mut u64, refused: *mut u64, queued: *mut usize);
    pub fn h_conn_pop(c: *mut Conn, wait_ns: c_longlong) -> *mut Ev;
    pub fn h_ev_view(
        e: *const Ev,
        s: *mut *const u16,
        sl: *mut usize,
        m: *mut *const u16,
        ml: *mut usize,
        d: *mut *const u16,
        dl: *mut usize,
        mono: *mut u64,
    );
    pub fn h_ev_free(e: *mut Ev);
    pub fn h_conn_err_count(c: *mut Conn) -> usize;
    pub fn h_conn_err_get(
        c: *mut Conn,
        i: usize,
        wcode: *mut u16,
        scode: *mut c_long,
        src: *mut *const u16,
        sl: *mut usize,
        descr: *mut *const u16,
        dl: *mut usize,
    ) -> c_int;

    pub fn h_lib_open(path: *const c_char, err: *mut c_char, errlen: usize) -> *mut Lib;
    pub fn h_lib_class_names(l: *mut Lib) -> *const u16;
    pub fn h_lib_set_caps(l: *mut Lib, caps: c_int, out: *mut c_int) -> c_int;
    pub fn h_lib_attach_type(l: *mut Lib, out: *mut c_int) -> c_int;
    pub fn h_lib_create(l: *mut Lib, name: *const u16, out: *mut *mut Component) -> c_long;
    pub fn h_lib_destroy(l: *mut Lib, p: *mut *mut Component, owner: u64) -> c_long;

    pub fn h_init(c: *mut Component, o: u64, conn: *mut Conn) -> bool;
    pub fn h_set_mem(c: *mut Component, o: u64, m: *mut MemMgr) -> bool;
    pub fn h_get_info(c: *mut Component, o: u64) -> c_long;
    pub fn h_done(c: *mut Component, o: u64, conn: *mut Conn);
    pub fn h_register_extension_as(c: *mut Component, o: u64, name: *mut *mut u16) -> bool;
    pub fn h_get_nprops(c: *mut Component, o: u64) -> c_long;
    pub fn h_find_prop(c: *mut Component, o: u64, n: *const u16) -> c_long;
    pub fn h_get_prop_name(c: *mut Component, o: u64, i: c_long, a: c_long) -> *const u16;
    pub fn h_get_prop_val(c: *mut Component, o: u64, i: c_long, v: *mut Variant) -> bool;
    pub fn h_set_prop_val(c: *mut Component, o: u64, i: c_long, v: *mut Variant) -> bool;
    pub fn h_is_prop_readable(c: *mut Component, o: u64, i: c_long) -> bool;
    pub fn h_is_prop_writable(c: *mut Component, o: u64, i: c_long) -> bool;
    pub fn h_get_nmethods(c: *mut Component, o: u64) -> c_long;
    pub fn h_find_method(c: *mut Component, o: u64, n: *const u16) -> c_long;
    pub fn h_get_method_name(c: *mut Component, o: u64, i: c_long, a: c_long) -> *const u16;
    pub fn h_get_nparams(c: *mut Component, o: u64, i: c_long) -> c_long;
    pub fn h_get_param_def_value(
        c: *mut Component,
        o: u64,
        m: c_long,
        p: c_long,
        v: *mut Variant,
    ) -> bool;
    pub fn h_has_ret_val(c: *mut Component, o: u64, i: c_long) -> bool;
    pub fn h_call_as_proc(
        c: *mut Component,
        o: u64,
        m: c_long,
        params: *mut Variant,
        n: c_long,
    ) -> bool;
    pub fn h_call_as_func(
        c: *mut Component,
        o: u64,
        m: c_long,
        ret: *mut Variant,
        params: *mut Variant,
        n: c_long,
    ) -> bool;
    pub fn h_set_locale(c: *mut Component, o: u64, loc: *const u16);
    pub fn h_set_ui_lang(c: *mut Component, o: u64, lang: *const u16);

    pub fn h_vars_new(n: c_long) -> *mut Variant;
    pub fn h_vars_free(a: *mut Variant);
    pub fn h_var_at(a: *mut Variant, i: c_long) -> *mut Variant;
    pub fn h_var_set(m: *mut MemMgr, v: *mut Variant, input: *const HVal) -> c_int;
    pub fn h_var_get(v: *const Variant, out: *mut HVal);
    pub fn h_var_clear(m: *mut MemMgr, v: *mut Variant, who: *const c_char);
}
