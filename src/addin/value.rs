//! Values crossing the 1C boundary, decoded into plain Rust (no FFI types here).

/// An argument as 1C passed it, already decoded from its tVariant. A blob is borrowed
/// from 1C's variant for the length of the call: a file is never copied to be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    /// Неопределено (VTYPE_EMPTY).
    Empty,
    /// NULL (VTYPE_NULL).
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    /// A string that is not valid UTF-16 (a lone surrogate) or not valid UTF-8 (PSTR).
    BadStr,
    Date,
    Blob(&'a [u8]),
    /// A type code the add-in does not take (INTERFACE, VARIANT, arrays, unknown codes).
    Unsupported(u16),
}

/// What a method or property hands back to 1C.
#[derive(Debug, Clone, PartialEq)]
pub enum Ret {
    /// Nothing (procedures); 1C sees Неопределено.
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    /// ДвоичныеДанные.
    Blob(Vec<u8>),
}

/// The type of an argument, as an error names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Undefined,
    Null,
    Boolean,
    Number,
    String,
    Date,
    BinaryData,
    Unsupported(u16),
}

impl Arg<'_> {
    pub fn type_of(&self) -> ArgType {
        match self {
            Arg::Empty => ArgType::Undefined,
            Arg::Null => ArgType::Null,
            Arg::Bool(_) => ArgType::Boolean,
            Arg::Int(_) | Arg::Num(_) => ArgType::Number,
            Arg::Str(_) | Arg::BadStr => ArgType::String,
            Arg::Date => ArgType::Date,
            Arg::Blob(_) => ArgType::BinaryData,
            Arg::Unsupported(code) => ArgType::Unsupported(*code),
        }
    }
}
