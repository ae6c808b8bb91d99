//! A call's arguments, counted against the method's table entry once, read by type
//! with errors that name the parameter in the client's language.

use super::errors::{ChatError, Expected, ParamName};
use super::table::Method;
use super::Arg;

/// Largest integer a 1C Number keeps exactly through a double.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

pub struct Args<'a> {
    method: &'static Method,
    args: &'a [Arg<'a>],
}

impl<'a> Args<'a> {
    pub fn new(method: &'static Method, args: &'a [Arg<'a>]) -> Result<Self, ChatError> {
        if args.len() != method.params.len() {
            return Err(ChatError::WrongArgCount {
                method: method.en,
                expected: method.params.len(),
                got: args.len(),
            });
        }
        Ok(Args { method, args })
    }

    fn name(&self, i: usize) -> ParamName {
        let p = &self.method.params[i];
        ParamName { en: p.en, ru: p.ru }
    }

    /// An explicit Неопределено takes the parameter's default, as an omitted one does.
    fn arg(&self, i: usize) -> Result<Arg<'a>, ChatError> {
        match (&self.args[i], self.method.params[i].default) {
            (Arg::Empty, Some(default)) => Ok(default.into()),
            (Arg::Empty, None) => Err(ChatError::Missing(self.name(i))),
            (other, _) => Ok(other.clone()),
        }
    }

    pub fn text(&self, i: usize) -> Result<String, ChatError> {
        match self.arg(i)? {
            Arg::Str(s) => Ok(s),
            Arg::BadStr => Err(ChatError::BadText(self.name(i))),
            got => Err(ChatError::WrongType {
                param: self.name(i),
                expected: Expected::Text,
                got: got.type_of(),
            }),
        }
    }

    /// ДвоичныеДанные, borrowed from 1C's variant.
    pub fn blob(&self, i: usize) -> Result<&'a [u8], ChatError> {
        match self.arg(i)? {
            Arg::Blob(data) => Ok(data),
            got => Err(ChatError::WrongType {
                param: self.name(i),
                expected: Expected::BinaryData,
                got: got.type_of(),
            }),
        }
    }

    /// A whole number in `min..=max`.
    pub fn integer_in(&self, i: usize, min: i64, max: i64) -> Result<i64, ChatError> {
        let n = self.integer(i, min)?;
        if n > max {
            return Err(ChatError::OutOfRange(self.name(i)));
        }
        Ok(n)
    }

    /// A whole number in `min..`; 1C may send it as I4 or as a double.
    pub fn integer(&self, i: usize, min: i64) -> Result<i64, ChatError> {
        let n = match self.arg(i)? {
            Arg::Int(n) => n,
            Arg::Num(f) if f.is_finite() && f.fract() == 0.0 && f.abs() <= MAX_EXACT => f as i64,
            Arg::Num(_) => return Err(ChatError::OutOfRange(self.name(i))),
            got => {
                return Err(ChatError::WrongType {
                    param: self.name(i),
                    expected: Expected::Integer,
                    got: got.type_of(),
                })
            }
        };
        if n < min {
            return Err(ChatError::OutOfRange(self.name(i)));
        }
        Ok(n)
    }
}
