//! Values crossing the 1C boundary, decoded into plain Rust (no FFI types here).

/// An argument as 1C passed it, already decoded from its tVariant.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
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
    Blob,
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
}
