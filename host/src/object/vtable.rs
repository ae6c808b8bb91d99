//! The raw `IComponentBase` queries, one host call each, safe after destroy (they then
//! answer as for an empty object).

use super::Object;
use crate::ffi;
use crate::value::Value;
use crate::vars::Vars;
use crate::wide::u16z;

impl Object {
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
}
