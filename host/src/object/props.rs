//! Reading and writing a property by name with BSL's rules.

use super::members::PROPS;
use super::Object;
use crate::error::{platform_err, CallError};
use crate::ffi;
use crate::value::Value;
use crate::vars::Vars;

impl Object {
    /// Reads a property as BSL does: `FindProp`, `IsPropReadable`, `GetPropVal`.
    pub fn get(&self, prop: &str) -> Result<Value, CallError> {
        let idx = self.index_of(&PROPS, prop, "Object field not found")?;
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
        self.outcome(ok, v, errors_before, || {
            format!("Error getting object field ({prop})")
        })
    }

    /// Writes a property as BSL does: `FindProp`, `IsPropWritable`, `SetPropVal`.
    pub fn set(&mut self, prop: &str, v: Value) -> Result<(), CallError> {
        let idx = self.index_of(&PROPS, prop, "Object field not found")?;
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
        self.outcome(ok, (), errors_before, || {
            format!("Error setting object field ({prop})")
        })
    }
}
