//! Timestamps as the SDKs and AWS's documents write them.

use time::OffsetDateTime;

/// `YYYY-MM-DDTHH:MM:SSZ`, whole seconds in UTC, as the SDKs parse it.
pub fn iso8601(time: OffsetDateTime) -> String {
    let t = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
