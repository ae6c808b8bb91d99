//! tVariant, laid out as 1C's types.h lays it out, and its conversion to and from
//! the add-in's plain values. The type code is read as a raw u16: 1C (or a hostile
//! host) may send any value, and none of them may be undefined behaviour here.

use std::ffi::c_void;

use super::memory::MemoryManager;
use crate::addin::{Arg, ChatError, Ret};

/// `struct tm` of the platform's C library (part of the tVariant union).
#[cfg(not(windows))]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Tm {
    pub fields: [i32; 9],
    pub gmtoff: std::ffi::c_long,
    pub zone: *const std::ffi::c_char,
}

#[cfg(windows)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Tm {
    pub fields: [i32; 9],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Str {
    pub ptr: *mut c_void,
    pub len: u32,
}

#[repr(C)]
pub union Value {
    pub i8: i8,
    pub i16: i16,
    pub i32: i32,
    pub i64: i64,
    pub u8: u8,
    pub u16: u16,
    pub u32: u32,
    pub u64: u64,
    pub f32: f32,
    pub f64: f64,
    pub boolean: bool,
    pub tm: Tm,
    pub str: Str,
}

#[repr(C)]
pub struct TVariant {
    pub value: Value,
    pub cb_elements: u32,
    pub vt: u16,
}

pub mod vt {
    pub const EMPTY: u16 = 0;
    pub const NULL: u16 = 1;
    pub const I2: u16 = 2;
    pub const I4: u16 = 3;
    pub const R4: u16 = 4;
    pub const R8: u16 = 5;
    pub const DATE: u16 = 6;
    pub const TM: u16 = 7;
    pub const PSTR: u16 = 8;
    pub const BOOL: u16 = 11;
    pub const I1: u16 = 13;
    pub const UI1: u16 = 14;
    pub const UI2: u16 = 15;
    pub const UI4: u16 = 16;
    pub const I8: u16 = 17;
    pub const UI8: u16 = 18;
    pub const INT: u16 = 19;
    pub const UINT: u16 = 20;
    pub const PWSTR: u16 = 22;
    pub const BLOB: u16 = 23;
}

/// Longest string accepted from 1C, in UTF-16 units; every parameter has a far
/// smaller limit, checked with a clear message later.
const MAX_UNITS: u32 = 1 << 24;

/// Decodes an argument.
///
/// # Safety
/// `v` must be a tVariant written by the host; string and blob pointers must be
/// valid for their stated lengths, as the Native API requires.
pub unsafe fn decode(v: &TVariant) -> Arg<'_> {
    // SAFETY: (the whole body) each union field is read only for the type code
    // that says it was written; every field is plain old data.
    unsafe {
        match v.vt {
            vt::EMPTY => Arg::Empty,
            vt::NULL => Arg::Null,
            vt::BOOL => Arg::Bool(v.value.boolean),
            vt::I1 => Arg::Int(v.value.i8.into()),
            vt::I2 => Arg::Int(v.value.i16.into()),
            vt::I4 | vt::INT => Arg::Int(v.value.i32.into()),
            vt::UI1 => Arg::Int(v.value.u8.into()),
            vt::UI2 => Arg::Int(v.value.u16.into()),
            vt::UI4 | vt::UINT => Arg::Int(v.value.u32.into()),
            vt::I8 => Arg::Int(v.value.i64),
            vt::UI8 => match i64::try_from(v.value.u64) {
                Ok(n) => Arg::Int(n),
                Err(_) => Arg::Num(v.value.u64 as f64),
            },
            vt::R4 => Arg::Num(v.value.f32.into()),
            vt::R8 => Arg::Num(v.value.f64),
            vt::DATE | vt::TM => Arg::Date,
            vt::BLOB => decode_blob(v.value.str),
            vt::PWSTR => decode_wide(v.value.str),
            vt::PSTR => decode_narrow(v.value.str),
            other => Arg::Unsupported(other),
        }
    }
}

/// Borrows a blob's bytes for the call (the variant outlives it).
unsafe fn decode_blob<'a>(s: Str) -> Arg<'a> {
    if s.len == 0 || s.ptr.is_null() {
        return Arg::Blob(&[]);
    }
    // SAFETY: the host guarantees `len` bytes at `ptr` (checked non-null), alive while
    // the variant is, which is the whole call.
    Arg::Blob(unsafe { std::slice::from_raw_parts(s.ptr as *const u8, s.len as usize) })
}

unsafe fn decode_wide<'a>(s: Str) -> Arg<'a> {
    if s.len == 0 {
        return Arg::Str(String::new());
    }
    if s.ptr.is_null() || s.len > MAX_UNITS {
        return Arg::BadStr;
    }
    // SAFETY: the host guarantees `len` UTF-16 units at `ptr` (checked non-null).
    let units = unsafe { std::slice::from_raw_parts(s.ptr as *const u16, s.len as usize) };
    String::from_utf16(units).map_or(Arg::BadStr, Arg::Str)
}

unsafe fn decode_narrow<'a>(s: Str) -> Arg<'a> {
    if s.len == 0 {
        return Arg::Str(String::new());
    }
    if s.ptr.is_null() || s.len > MAX_UNITS {
        return Arg::BadStr;
    }
    // SAFETY: the host guarantees `len` bytes at `ptr` (checked non-null).
    let bytes = unsafe { std::slice::from_raw_parts(s.ptr as *const u8, s.len as usize) };
    std::str::from_utf8(bytes).map_or(Arg::BadStr, |t| Arg::Str(t.to_string()))
}

/// Writes a result into a variant owned by 1C; strings go into 1C's memory.
pub fn encode(ret: &Ret, out: &mut TVariant, mem: &MemoryManager) -> Result<(), ChatError> {
    match ret {
        Ret::None => out.vt = vt::EMPTY,
        Ret::Bool(b) => {
            out.value.boolean = *b;
            out.vt = vt::BOOL;
        }
        Ret::Int(n) => match i32::try_from(*n) {
            Ok(small) => {
                out.value.i32 = small;
                out.vt = vt::I4;
            }
            Err(_) => {
                out.value.f64 = *n as f64;
                out.vt = vt::R8;
            }
        },
        Ret::Str(s) => {
            let (ptr, len) = mem.alloc_wide(s).ok_or(ChatError::Memory)?;
            out.value.str = Str {
                ptr: ptr.cast(),
                len,
            };
            out.vt = vt::PWSTR;
        }
        Ret::Blob(data) => {
            let (ptr, len) = mem.alloc_bytes(data).ok_or(ChatError::Memory)?;
            out.value.str = Str { ptr, len };
            out.vt = vt::BLOB;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_platform() {
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        assert_eq!(
            (
                std::mem::size_of::<TVariant>(),
                std::mem::offset_of!(TVariant, vt)
            ),
            (64, 60)
        );
        #[cfg(all(target_os = "linux", target_pointer_width = "32"))]
        assert_eq!(
            (
                std::mem::size_of::<TVariant>(),
                std::mem::offset_of!(TVariant, vt)
            ),
            (52, 48)
        );
        #[cfg(windows)]
        assert_eq!(
            (
                std::mem::size_of::<TVariant>(),
                std::mem::offset_of!(TVariant, vt)
            ),
            (48, 44)
        );
    }

    fn var(vt: u16, value: Value) -> TVariant {
        TVariant {
            value,
            cb_elements: 0,
            vt,
        }
    }

    #[test]
    fn decodes_every_kind() {
        // SAFETY: the variants below are well formed.
        unsafe {
            assert_eq!(decode(&var(vt::I4, Value { i32: -5 })), Arg::Int(-5));
            assert_eq!(decode(&var(vt::R8, Value { f64: 2.5 })), Arg::Num(2.5));
            assert_eq!(
                decode(&var(0x7777, Value { i64: 0 })),
                Arg::Unsupported(0x7777)
            );
            assert_eq!(
                decode(&var(vt::UI8, Value { u64: u64::MAX })),
                Arg::Num(u64::MAX as f64)
            );
            let mut lone = [0xD800u16, 0x41];
            let s = Str {
                ptr: lone.as_mut_ptr().cast(),
                len: 2,
            };
            assert_eq!(decode(&var(vt::PWSTR, Value { str: s })), Arg::BadStr);
            let s = Str {
                ptr: std::ptr::null_mut(),
                len: 0,
            };
            assert_eq!(
                decode(&var(vt::PWSTR, Value { str: s })),
                Arg::Str(String::new())
            );
            let s = Str {
                ptr: std::ptr::null_mut(),
                len: 3,
            };
            assert_eq!(decode(&var(vt::PWSTR, Value { str: s })), Arg::BadStr);
        }
    }
}
