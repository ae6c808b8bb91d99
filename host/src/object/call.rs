//! Calling a method by name with BSL's rules (defaults, argument count, function or
//! procedure).

use std::os::raw::c_long;

use super::members::METHODS;
use super::{Object, MAX_PARAMS};
use crate::error::{platform_err, CallError};
use crate::ffi;
use crate::value::Value;
use crate::vars::Vars;
use crate::violations::add_violation;

/// How a method is called: as BSL decides (`HasRetVal`), or forced either way.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bsl,
    Proc,
    Func,
}

impl Object {
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

    fn invoke(&mut self, name: &str, args: &[Value], mode: Mode) -> Result<Value, CallError> {
        let idx = self.index_of(&METHODS, name, "Object method not found")?;
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
        self.outcome(ok, value, errors_before, || {
            format!("Error calling context method ({name})")
        })
    }
}
