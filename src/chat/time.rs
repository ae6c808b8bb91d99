//! Message periods: UTC milliseconds, shown as `YYYY-MM-DDTHH:MM:SS.mmmZ`.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Formats UTC milliseconds since 1970 (civil-from-days, proleptic Gregorian).
pub fn format_period(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let ms_of_day = millis.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        year,
        month,
        day,
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    )
}

pub(super) fn serialize_period<S: serde::Serializer>(
    millis: &i64,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_period(*millis))
}

pub(super) fn serialize_optional_period<S: serde::Serializer>(
    millis: &Option<i64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match millis {
        Some(m) => s.serialize_str(&format_period(*m)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_period(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_period(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_period(1_767_225_599_999), "2025-12-31T23:59:59.999Z");
    }
}
