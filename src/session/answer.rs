//! CreateSession's answer: temporary AWS credentials (the secret parts zeroized on drop and
//! never printed by `Debug`) and what the session is.

use serde::Deserialize;
use time::OffsetDateTime;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
/// Temporary AWS credentials.
pub struct Credentials {
    /// The access key ID (`ASIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    #[zeroize(skip)]
    /// When they stop working.
    pub expiration: OffsetDateTime,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// What CreateSession answered besides the credentials, for logs (none of it secret).
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    /// The role session's ARN, as CreateSession names it.
    pub assumed_role_arn: Option<String>,
    /// The certificate's subject, as CreateSession names it.
    pub subject_arn: Option<String>,
    /// The service's `x-amzn-RequestId`, for audit logs and support cases.
    pub request_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateSessionResponse {
    credential_set: Vec<CredentialSetEntry>,
    subject_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialSetEntry {
    credentials: Option<WireCredentials>,
    assumed_role_user: Option<AssumedRoleUser>,
}

#[derive(Deserialize)]
struct AssumedRoleUser {
    arn: Option<String>,
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(rename_all = "camelCase")]
struct WireCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

/// Parses a CreateSession success body. The body buffer is the caller's to zeroize.
pub fn parse_create_session(body: &[u8]) -> Result<(Credentials, SessionInfo)> {
    let malformed = |why: String| {
        Error::Unavailable(format!(
            "CreateSession answered with an unusable body: {why}"
        ))
    };
    let mut response: CreateSessionResponse = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("not the expected JSON ({e})")))?;
    let Some(mut entry) = response.credential_set.drain(..).next() else {
        return Err(malformed("credentialSet is empty".into()));
    };
    let Some(wire) = entry.credentials.take() else {
        return Err(malformed("credentialSet[0] has no credentials".into()));
    };
    check_values(
        &wire.access_key_id,
        &wire.secret_access_key,
        &wire.session_token,
    )
    .map_err(|why| malformed(format!("{why}; nothing was written or printed")))?;
    let expiration = parse_timestamp(&wire.expiration).ok_or_else(|| {
        malformed(format!(
            "expiration '{}' is not a timestamp",
            wire.expiration
        ))
    })?;
    let credentials = Credentials {
        access_key_id: wire.access_key_id.clone(),
        secret_access_key: wire.secret_access_key.clone(),
        session_token: wire.session_token.clone(),
        expiration,
    };
    let info = SessionInfo {
        assumed_role_arn: entry.assumed_role_user.and_then(|u| u.arn),
        subject_arn: response.subject_arn.take(),
        request_id: None,
    };
    Ok((credentials, info))
}

/// The lengths AWS's credential values come in: access key ids are documented as 16 to 128
/// characters; secret access keys are 40 today; session tokens run to a few thousand characters.
/// The bounds leave room for growth and refuse what no AWS service issues.
const ACCESS_KEY_ID_LENGTH: std::ops::RangeInclusive<usize> = 16..=128;
const SECRET_ACCESS_KEY_LENGTH: std::ops::RangeInclusive<usize> = 16..=256;
const SESSION_TOKEN_LENGTH: std::ops::RangeInclusive<usize> = 16..=16_384;

/// Checks credential values against the alphabet AWS uses: the access key id `[A-Z0-9]`, the
/// secret access key and the session token base64 (`A-Za-z0-9+/=`), each of a length AWS issues.
/// Whatever passes cannot break out of any quoting the outputs use (shells, INI, JSON, HTTP
/// headers), and has no control character to print. The problem named never quotes a value.
pub fn check_values(
    access_key_id: &str,
    secret_access_key: &str,
    session_token: &str,
) -> std::result::Result<(), String> {
    const BASE64: &str = "base64: A-Z, a-z, 0-9, +, / and =";
    let base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let upper_alnum = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    check_value(
        "the access key id",
        access_key_id,
        upper_alnum,
        "A-Z and 0-9",
        ACCESS_KEY_ID_LENGTH,
    )?;
    check_value(
        "the secret access key",
        secret_access_key,
        base64,
        BASE64,
        SECRET_ACCESS_KEY_LENGTH,
    )?;
    check_value(
        "the session token",
        session_token,
        base64,
        BASE64,
        SESSION_TOKEN_LENGTH,
    )
}

/// One value of [`check_values`]: every byte `allowed`, a length in `lengths`.
fn check_value(
    name: &str,
    value: &str,
    allowed: impl Fn(u8) -> bool,
    alphabet: &str,
    lengths: std::ops::RangeInclusive<usize>,
) -> std::result::Result<(), String> {
    if value.is_empty() {
        return Err(format!("{name} is empty"));
    }
    if !value.bytes().all(allowed) {
        return Err(format!(
            "{name} has characters outside the alphabet AWS uses ({alphabet})"
        ));
    }
    if !lengths.contains(&value.len()) {
        return Err(format!(
            "{name} is {} characters long, not the {} to {} AWS issues",
            value.len(),
            lengths.start(),
            lengths.end()
        ));
    }
    Ok(())
}

/// Parses an RFC 3339 timestamp (`2026-11-26T08:00:00Z`, fractions and offsets allowed).
pub fn parse_timestamp(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).ok()
}

/// A zeroizing buffer for response bodies that carry secrets.
pub type SecretBytes = Zeroizing<Vec<u8>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_service_answer() {
        let body = br#"{"credentialSet":[{"assumedRoleUser":{"arn":"arn:aws:sts::123456789012:assumed-role/r/s","assumedRoleId":"AROA:s"},"credentials":{"accessKeyId":"ASIAEXAMPLE12345","secretAccessKey":"wJalrSECRETwJalrSECRET","sessionToken":"TOKENVALUETOKENVALUE","expiration":"2026-11-26T08:00:00.123Z"},"packedPolicySize":0,"roleArn":"arn:aws:iam::123456789012:role/r","sourceIdentity":"CN=x"}],"subjectArn":"arn:aws:rolesanywhere:us-east-1:123456789012:subject/s"}"#;
        let (creds, info) = parse_create_session(body).unwrap();
        assert_eq!(creds.access_key_id, "ASIAEXAMPLE12345");
        assert_eq!(creds.expiration.unix_timestamp(), 1795680000);
        assert_eq!(
            info.assumed_role_arn.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/r/s")
        );
        let debug = format!("{creds:?}");
        assert!(!debug.contains("wJalrSECRET") && !debug.contains("TOKENVALUE"));
    }

    #[test]
    fn rejects_empty_or_malformed_answers() {
        assert!(parse_create_session(b"{}").is_err());
        assert!(parse_create_session(br#"{"credentialSet":[]}"#).is_err());
        let empty = br#"{"credentialSet":[{"credentials":{"accessKeyId":"","secretAccessKey":"","sessionToken":"","expiration":"2026-11-26T08:00:00Z"}}]}"#;
        assert!(parse_create_session(empty).is_err());
    }

    /// An answer whose values could break out of a shell's quotes, an INI line or a terminal is
    /// an unusable answer: refused whole, and the error never quotes the value.
    #[test]
    fn refuses_values_outside_the_alphabet_aws_uses() {
        let good_id = "ASIAEXAMPLE12345";
        let good_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let good_token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==";
        assert!(check_values(good_id, good_secret, good_token).is_ok());
        let hostile = [
            "ends-in-backslash\\",
            "$(touch /tmp/pwned)AAAAAAAAAAAAAA",
            "`touch /tmp/pwned`AAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAA\n[evil]\nx = y",
            "AAAAAAAAAAAAAAAA\r",
            "AAAAAAAAAAAAAAAA\u{1b}[2J",
            "AAAAAAAAAAAAAAAA'",
            "AAAAAAAAAAAAAAAA\"",
            "AAAAAAAAAAAAAAAA AAAA",
            "AAAAAAAAAAAAAAAA\u{0}",
            "AAAAAAAAAAAAAAAA\u{e9}",
            "",
        ];
        for bad in hostile {
            for (id, secret, token) in [
                (bad, good_secret, good_token),
                (good_id, bad, good_token),
                (good_id, good_secret, bad),
            ] {
                let problem = check_values(id, secret, token).unwrap_err();
                assert!(
                    !bad.is_empty() && !problem.contains(bad) || bad.is_empty(),
                    "{problem}"
                );
                let body = serde_json::json!({"credentialSet":[{"credentials":{
                    "accessKeyId": id, "secretAccessKey": secret, "sessionToken": token,
                    "expiration": "2026-11-26T08:00:00Z"}}]})
                .to_string();
                let error = parse_create_session(body.as_bytes())
                    .unwrap_err()
                    .to_string();
                assert!(error.contains("unusable"), "{error}");
                assert!(bad.is_empty() || !error.contains(bad), "{error}");
            }
        }
        // The access key id is upper-case letters and digits only.
        assert!(check_values("asiaexample12345", good_secret, good_token).is_err());
        assert!(check_values("ASIA+EXAMPLE1234", good_secret, good_token).is_err());
        // Lengths AWS never issues.
        assert!(check_values("ASIA", good_secret, good_token).is_err());
        assert!(check_values(&"A".repeat(129), good_secret, good_token).is_err());
        assert!(check_values(good_id, good_secret, &"A".repeat(16_385)).is_err());
    }
}
