//! tVariant arrays the host owns: parameters, return values and property values, freed
//! through the object's tracked memory manager as 1C frees them.

use std::ffi::CStr;
use std::os::raw::c_long;

use crate::error::{platform_err, CallError};
use crate::ffi;
use crate::value::{self, Value};

/// A tVariant array owned by the host; its strings/blobs are freed (tracked) on drop.
pub(crate) struct Vars {
    ptr: *mut ffi::Variant,
    n: usize,
    mem: *mut ffi::MemMgr,
    who: &'static CStr,
}

impl Vars {
    pub(crate) fn new(
        n: usize,
        mem: *mut ffi::MemMgr,
        who: &'static CStr,
    ) -> Result<Vars, CallError> {
        // SAFETY: plain allocation (never NULL for n = 0 unless out of memory).
        let ptr = unsafe { ffi::h_vars_new(n as c_long) };
        if ptr.is_null() {
            return Err(platform_err("out of memory".into()));
        }
        Ok(Vars { ptr, n, mem, who })
    }

    pub(crate) fn at(&self, i: usize) -> *mut ffi::Variant {
        assert!(i < self.n.max(1));
        // SAFETY: i is within the array allocated with max(n, 1) elements.
        unsafe { ffi::h_var_at(self.ptr, i as c_long) }
    }

    pub(crate) fn set(&self, i: usize, v: &Value) -> bool {
        let (h, _backing) = value::to_hval(v);
        // SAFETY: the element is valid; h's pointers are kept alive by _backing during the call.
        unsafe { ffi::h_var_set(self.mem, self.at(i), &h) == 1 }
    }

    pub(crate) fn get(&self, i: usize) -> (Value, Option<String>) {
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
}
