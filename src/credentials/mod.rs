//! Temporary AWS credentials as CreateSession returns them; the secret parts are zeroized on drop
//! and never printed by `Debug`.

pub mod cache;
pub mod one_shot;

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
    if wire.access_key_id.is_empty()
        || wire.secret_access_key.is_empty()
        || wire.session_token.is_empty()
    {
        return Err(malformed("the credentials are empty".into()));
    }
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
        let body = br#"{"credentialSet":[{"assumedRoleUser":{"arn":"arn:aws:sts::123456789012:assumed-role/r/s","assumedRoleId":"AROA:s"},"credentials":{"accessKeyId":"ASIAX","secretAccessKey":"wJalrSECRET","sessionToken":"TOKENVALUE","expiration":"2026-11-26T08:00:00.123Z"},"packedPolicySize":0,"roleArn":"arn:aws:iam::123456789012:role/r","sourceIdentity":"CN=x"}],"subjectArn":"arn:aws:rolesanywhere:us-east-1:123456789012:subject/s"}"#;
        let (creds, info) = parse_create_session(body).unwrap();
        assert_eq!(creds.access_key_id, "ASIAX");
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
}
