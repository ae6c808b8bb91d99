//! Values passed to and returned from an add-in, and their tVariant form.

use crate::ffi::{self, HVal};

/// A value 1C can pass to an add-in (or get back from it).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// VTYPE_EMPTY: Неопределено.
    Empty,
    /// VTYPE_NULL.
    Null,
    /// VTYPE_BOOL.
    Bool(bool),
    /// VTYPE_I4 (returned I2/I1/UI1/UI2/ERROR/INT too).
    I4(i32),
    /// VTYPE_R8 (returned R4/UI4/I8/UI8/UINT/HRESULT too).
    R8(f64),
    /// VTYPE_PWSTR holding valid UTF-16.
    Str(String),
    /// VTYPE_PWSTR with arbitrary UTF-16 units (e.g. a lone surrogate).
    Utf16(Vec<u16>),
    /// VTYPE_BLOB.
    Blob(Vec<u8>),
    /// VTYPE_TM: wall-clock date and time as 1C sends a Дата (no zone). `month` 1..=12.
    Tm {
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
    },
    /// VTYPE_DATE: an OLE automation date (days since 1899-12-30).
    Date(f64),
    /// Any type code with a zeroed payload (e.g. an unknown one such as 999).
    Raw { vt: u16 },
}

impl Value {
    /// Shorthand for `Value::Str`.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// The string inside `Str` (or `Utf16` decoded lossily); None for other types.
    pub fn as_str(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Utf16(u) => Some(String::from_utf16_lossy(u)),
            _ => None,
        }
    }

    /// A number (`I4` or `R8`) as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::I4(i) => Some(f64::from(*i)),
            Value::R8(f) => Some(*f),
            _ => None,
        }
    }

    /// A number that is integral, as i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::I4(i) => Some(i64::from(*i)),
            Value::R8(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// The boolean inside `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::I4(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::R8(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Owned storage backing the pointers of an [`HVal`] built from a [`Value`].
#[allow(dead_code)] // the vectors are only held, to keep an HVal's pointers valid
pub(crate) enum Backing {
    None,
    Units(Vec<u16>),
    Bytes(Vec<u8>),
}

/// Builds the flat view of `v`; the returned backing must outlive the view's use.
pub(crate) fn to_hval(v: &Value) -> (HVal, Backing) {
    match v {
        Value::Empty => (HVal::new(ffi::VT_EMPTY), Backing::None),
        Value::Null => (HVal::new(ffi::VT_NULL), Backing::None),
        Value::Bool(b) => {
            let mut h = HVal::new(ffi::VT_BOOL);
            h.b = u8::from(*b);
            (h, Backing::None)
        }
        Value::I4(i) => {
            let mut h = HVal::new(ffi::VT_I4);
            h.i4 = *i;
            (h, Backing::None)
        }
        Value::R8(f) => {
            let mut h = HVal::new(ffi::VT_R8);
            h.r8 = *f;
            (h, Backing::None)
        }
        Value::Date(f) => {
            let mut h = HVal::new(ffi::VT_DATE);
            h.r8 = *f;
            (h, Backing::None)
        }
        Value::Str(s) => units_hval(s.encode_utf16().collect()),
        Value::Utf16(u) => units_hval(u.clone()),
        Value::Blob(b) => {
            let bytes = b.clone();
            let mut h = HVal::new(ffi::VT_BLOB);
            h.ptr = bytes.as_ptr().cast();
            h.len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            (h, Backing::Bytes(bytes))
        }
        Value::Tm {
            year,
            month,
            day,
            hour,
            min,
            sec,
        } => {
            let mut h = HVal::new(ffi::VT_TM);
            let (y, m, d) = (i64::from(*year), i64::from(*month), i64::from(*day));
            let days = days_from_civil(y, m, d);
            let wday = (days + 4).rem_euclid(7); // 1970-01-01 was a Thursday
            let yday = days - days_from_civil(y, 1, 1);
            h.tm = [
                *sec as i32,
                *min as i32,
                *hour as i32,
                *day as i32,
                *month as i32 - 1,
                *year - 1900,
                wday as i32,
                yday as i32,
                0,
            ];
            (h, Backing::None)
        }
        Value::Raw { vt } => (HVal::new(*vt), Backing::None),
    }
}

fn units_hval(units: Vec<u16>) -> (HVal, Backing) {
    let mut h = HVal::new(ffi::VT_PWSTR);
    h.ptr = units.as_ptr().cast();
    h.len = u32::try_from(units.len()).unwrap_or(u32::MAX);
    (h, Backing::Units(units))
}

/// Converts the flat view of a tVariant (pointers still owned by it) into a [`Value`].
/// Returns a problem text when the variant is malformed (e.g. a null string pointer with a length).
pub(crate) fn from_hval(h: &HVal) -> (Value, Option<String>) {
    let num = |i: i64| match i32::try_from(i) {
        Ok(v) => Value::I4(v),
        Err(_) => Value::R8(i as f64),
    };
    match h.vt {
        ffi::VT_EMPTY => (Value::Empty, None),
        ffi::VT_NULL => (Value::Null, None),
        ffi::VT_BOOL => (Value::Bool(h.b != 0), None),
        ffi::VT_I2
        | ffi::VT_I4
        | ffi::VT_ERROR
        | ffi::VT_INT
        | ffi::VT_I1
        | ffi::VT_UI1
        | ffi::VT_UI2 => (Value::I4(h.i4), None),
        ffi::VT_UI4 | ffi::VT_UINT | ffi::VT_I8 | ffi::VT_HRESULT => (num(h.i8), None),
        ffi::VT_UI8 => (Value::R8(h.i8 as u64 as f64), None),
        ffi::VT_R4 | ffi::VT_R8 => (Value::R8(h.r8), None),
        ffi::VT_DATE => (Value::Date(h.r8), None),
        ffi::VT_TM => (
            Value::Tm {
                year: h.tm[5] + 1900,
                month: (h.tm[4] + 1).max(0) as u32,
                day: h.tm[3].max(0) as u32,
                hour: h.tm[2].max(0) as u32,
                min: h.tm[1].max(0) as u32,
                sec: h.tm[0].max(0) as u32,
            },
            None,
        ),
        ffi::VT_PWSTR => {
            if h.ptr.is_null() {
                let problem =
                    (h.len > 0).then(|| format!("PWSTR with a null pointer and wstrLen {}", h.len));
                return (Value::Str(String::new()), problem);
            }
            // SAFETY: the add-in filled a PWSTR variant: pwstrVal points at wstrLen UTF-16 units
            // (checked non-null above); the variant still owns them while we copy.
            let units =
                unsafe { std::slice::from_raw_parts(h.ptr.cast::<u16>(), h.len as usize) }.to_vec();
            match String::from_utf16(&units) {
                Ok(s) => (Value::Str(s), None),
                Err(_) => (Value::Utf16(units), None),
            }
        }
        ffi::VT_PSTR | ffi::VT_BLOB => {
            if h.ptr.is_null() {
                let problem = (h.len > 0)
                    .then(|| format!("BLOB/PSTR with a null pointer and strLen {}", h.len));
                let v = if h.vt == ffi::VT_BLOB {
                    Value::Blob(Vec::new())
                } else {
                    Value::Str(String::new())
                };
                return (v, problem);
            }
            // SAFETY: pstrVal points at strLen bytes owned by the variant (non-null checked).
            let bytes =
                unsafe { std::slice::from_raw_parts(h.ptr.cast::<u8>(), h.len as usize) }.to_vec();
            if h.vt == ffi::VT_BLOB {
                (Value::Blob(bytes), None)
            } else {
                (
                    Value::Str(String::from_utf8_lossy(&bytes).into_owned()),
                    None,
                )
            }
        }
        vt => (Value::Raw { vt }, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tm_weekday_and_yearday() {
        let (h, _) = to_hval(&Value::Tm {
            year: 2024,
            month: 3,
            day: 1,
            hour: 3,
            min: 4,
            sec: 5,
        });
        // 2024-03-01 was a Friday (5), day 60 of a leap year (0-based).
        assert_eq!(h.tm, [5, 4, 3, 1, 2, 124, 5, 60, 0]);
        let (v, p) = from_hval(&h);
        assert!(p.is_none());
        assert_eq!(
            v,
            Value::Tm {
                year: 2024,
                month: 3,
                day: 1,
                hour: 3,
                min: 4,
                sec: 5
            }
        );
    }

    #[test]
    fn strings_round_trip_through_the_view() {
        let (h, _b) = to_hval(&Value::Utf16(vec![0xD800, 0x41]));
        assert_eq!(h.len, 2);
        assert_eq!(from_hval(&h).0, Value::Utf16(vec![0xD800, 0x41]));
        let (h, _b) = to_hval(&Value::str("Привет"));
        assert_eq!(from_hval(&h).0, Value::str("Привет"));
    }
}
