//! What the commands print: the `credential_process` JSON document and timestamps.

pub mod credentials_file;
pub mod exec;
pub mod export;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::credentials::Credentials;

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

/// The one-line `credential_process` document, in a zeroizing buffer since it holds secrets.
pub fn credential_process_json(credentials: &Credentials) -> Zeroizing<String> {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let access_key = Zeroizing::new(quote(&credentials.access_key_id));
    let secret = Zeroizing::new(quote(&credentials.secret_access_key));
    let token = Zeroizing::new(quote(&credentials.session_token));
    Zeroizing::new(format!(
        "{{\"Version\":1,\"AccessKeyId\":{},\"SecretAccessKey\":{},\"SessionToken\":{},\"Expiration\":\"{}\"}}",
        *access_key,
        *secret,
        *token,
        iso8601(credentials.expiration)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_credential_process_document() {
        let credentials = Credentials {
            access_key_id: "ASIA1".into(),
            secret_access_key: "s/\"x".into(),
            session_token: "t".into(),
            expiration: time::macros::datetime!(2026-11-26 08:00:00.9 UTC),
        };
        let doc = credential_process_json(&credentials);
        assert_eq!(
            doc.as_str(),
            r#"{"Version":1,"AccessKeyId":"ASIA1","SecretAccessKey":"s/\"x","SessionToken":"t","Expiration":"2026-11-26T08:00:00Z"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(parsed["Version"], 1);
    }
}
