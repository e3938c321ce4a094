//! What the endpoint answers: AWS-shaped errors (`X-Amzn-ErrorType`, `{"message": …}`) and the
//! CreateSession success document with freshly made, worthless credentials.

use base64::Engine as _;
use time::OffsetDateTime;

use crate::iso8601;

/// An error answer: HTTP status, `X-Amzn-ErrorType` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    /// The HTTP status.
    pub status: u16,
    /// The `X-Amzn-ErrorType`, e.g. `AccessDeniedException`.
    pub error_type: String,
    /// The message, as the body's `message` carries it.
    pub message: String,
}

impl ErrorReply {
    /// An error answer of any status and type.
    pub fn new(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        ErrorReply {
            status,
            error_type: error_type.to_string(),
            message: message.into(),
        }
    }

    /// 403: chain, CA, validity or extension problems.
    pub fn untrusted(detail: impl std::fmt::Display) -> Self {
        Self::new(
            403,
            "AccessDeniedException",
            format!("Untrusted signing certificate: {detail}"),
        )
    }

    /// 403: a bad signature, or a request that does not canonicalize to what was signed.
    pub fn invalid_signature(detail: impl std::fmt::Display) -> Self {
        Self::new(
            403,
            "AccessDeniedException",
            format!("Invalid signature: {detail}"),
        )
    }

    /// 400: a malformed or missing input.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", message)
    }

    /// 404: an unknown trust anchor, profile or role.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "ResourceNotFoundException", message)
    }

    /// An injected fault or an internal failure, typed after its status.
    pub fn for_status(status: u16, message: impl Into<String>) -> Self {
        Self::new(status, error_type_for_status(status), message)
    }

    /// `{"message":"…"}`.
    pub fn body(&self) -> Vec<u8> {
        serde_json::json!({ "message": self.message })
            .to_string()
            .into_bytes()
    }
}

/// The AWS error type that usually goes with a status.
pub fn error_type_for_status(status: u16) -> &'static str {
    match status {
        400 => "ValidationException",
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        409 => "ConflictException",
        429 => "ThrottlingException",
        500 => "InternalServerException",
        503 => "ServiceUnavailableException",
        s if s >= 500 => "ServiceUnavailableException",
        _ => "ValidationException",
    }
}

/// Random bytes from the operating system (getrandom: a system call, no file or socket).
pub fn random_bytes(n: usize) -> Result<Vec<u8>, ErrorReply> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|_| ErrorReply::for_status(500, "the endpoint's random source failed"))?;
    Ok(bytes)
}

/// `n` characters drawn uniformly from `alphabet` (at most 256 symbols), by rejection sampling.
fn random_string(n: usize, alphabet: &[u8]) -> Result<String, ErrorReply> {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2)? {
            if usize::from(b) < limit && out.len() < n {
                out.push(alphabet[usize::from(b) % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64ISH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A version-4-shaped UUID made of random bytes.
pub fn random_uuid() -> Result<String, ErrorReply> {
    let mut b = random_bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(uuid_text(&b))
}

/// `8-4-4-4-12` hex of the first 16 bytes.
fn uuid_text(b: &[u8]) -> String {
    let h = hex::encode(&b[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// What a verified request is granted.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The role assumed.
    pub role_arn: String,
    /// How long the credentials last.
    pub duration_seconds: u32,
    /// The role session name: the one asked for, else the certificate serial in hex.
    pub session_name: String,
    /// `CN=<leaf CN>` (or the whole subject when it has no CN).
    pub source_identity: String,
    /// Seeds the stable subject id.
    pub leaf_subject: String,
    /// The trust anchor's region.
    pub region: String,
    /// The role ARN's partition.
    pub partition: String,
    /// The trust anchor's account.
    pub account: String,
}

/// The credentials issued for a grant, and the response body that carries them.
pub struct Issued {
    /// The access key id (the secret key and the session token are only in the body).
    pub access_key_id: String,
    /// When the credentials expire.
    pub expiration: OffsetDateTime,
    /// The 201 response body.
    pub body: Vec<u8>,
}

/// Makes random credentials and the 201 body for `grant`, expiring `duration` after `now`.
pub fn issue(grant: &Grant, now: OffsetDateTime) -> Result<Issued, ErrorReply> {
    let access_key_id = format!("ASIA{}", random_string(16, UPPER_ALNUM)?);
    let secret_access_key = random_string(40, BASE64ISH)?;
    let session_token = base64::engine::general_purpose::STANDARD.encode(random_bytes(300)?);
    let expiration = now + time::Duration::seconds(i64::from(grant.duration_seconds));
    let role_account = grant
        .role_arn
        .split(':')
        .nth(4)
        .unwrap_or(&grant.account)
        .to_string();
    let role_name = grant.role_arn.rsplit('/').next().unwrap_or("role");
    let assumed_role_id = format!(
        "AROA{}:{}",
        random_string(17, UPPER_ALNUM)?,
        grant.session_name
    );
    let subject_id = uuid_text(
        ring::digest::digest(&ring::digest::SHA256, grant.leaf_subject.as_bytes()).as_ref(),
    );
    let document = serde_json::json!({
        "credentialSet": [{
            "assumedRoleUser": {
                "arn": format!("arn:{}:sts::{role_account}:assumed-role/{role_name}/{}", grant.partition, grant.session_name),
                "assumedRoleId": assumed_role_id,
            },
            "credentials": {
                "accessKeyId": access_key_id,
                "secretAccessKey": secret_access_key,
                "sessionToken": session_token,
                "expiration": iso8601(expiration),
            },
            "packedPolicySize": 0,
            "roleArn": grant.role_arn,
            "sourceIdentity": grant.source_identity,
        }],
        "subjectArn": format!("arn:{}:rolesanywhere:{}:{}:subject/{subject_id}", grant.partition, grant.region, grant.account),
    });
    Ok(Issued {
        access_key_id,
        expiration,
        body: document.to_string().into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_errors_like_aws() {
        let e = ErrorReply::untrusted("issuer not trusted");
        assert_eq!(
            (e.status, e.error_type.as_str()),
            (403, "AccessDeniedException")
        );
        assert_eq!(
            e.message,
            "Untrusted signing certificate: issuer not trusted"
        );
        let body: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"message": "Untrusted signing certificate: issuer not trusted"})
        );
        assert_eq!(
            ErrorReply::invalid_signature("x").message,
            "Invalid signature: x"
        );
        assert_eq!(ErrorReply::validation("bad").status, 400);
        assert_eq!(
            ErrorReply::not_found("gone").error_type,
            "ResourceNotFoundException"
        );
        assert_eq!(
            ErrorReply::for_status(503, "m").error_type,
            "ServiceUnavailableException"
        );
        assert_eq!(
            ErrorReply::for_status(429, "m").error_type,
            "ThrottlingException"
        );
        assert_eq!(
            ErrorReply::for_status(500, "m").error_type,
            "InternalServerException"
        );
        assert_eq!(
            ErrorReply::for_status(502, "m").error_type,
            "ServiceUnavailableException"
        );
        // The message is JSON-escaped.
        let tricky = ErrorReply::validation("a \"quoted\"\nline");
        let body: serde_json::Value = serde_json::from_slice(&tricky.body()).unwrap();
        assert_eq!(body["message"], "a \"quoted\"\nline");
    }

    #[test]
    fn issues_well_formed_credentials() {
        let grant = Grant {
            role_arn: "arn:aws:iam::123456789012:role/path/demo-role".into(),
            duration_seconds: 900,
            session_name: "abc123".into(),
            source_identity: "CN=client".into(),
            leaf_subject: "CN=client".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            account: "123456789012".into(),
        };
        let now = time::macros::datetime!(2025-11-26 07:00:00.5 UTC);
        let issued = issue(&grant, now).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&issued.body).unwrap();
        let entry = &doc["credentialSet"][0];
        let creds = &entry["credentials"];
        let akid = creds["accessKeyId"].as_str().unwrap();
        assert_eq!(akid, issued.access_key_id);
        assert!(akid.starts_with("ASIA") && akid.len() == 20);
        assert!(
            akid[4..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(creds["secretAccessKey"].as_str().unwrap().len(), 40);
        assert!(creds["sessionToken"].as_str().unwrap().len() >= 400);
        assert_eq!(creds["expiration"], "2025-11-26T07:15:00Z");
        assert_eq!(
            entry["assumedRoleUser"]["arn"],
            "arn:aws:sts::123456789012:assumed-role/demo-role/abc123"
        );
        assert!(
            entry["assumedRoleUser"]["assumedRoleId"]
                .as_str()
                .unwrap()
                .ends_with(":abc123")
        );
        assert_eq!(entry["roleArn"], grant.role_arn);
        assert_eq!(entry["sourceIdentity"], "CN=client");
        assert_eq!(entry["packedPolicySize"], 0);
        let subject = doc["subjectArn"].as_str().unwrap();
        assert!(subject.starts_with("arn:aws:rolesanywhere:us-east-1:123456789012:subject/"));
        // Two issues never share a key.
        assert_ne!(
            issue(&grant, now).unwrap().access_key_id,
            issued.access_key_id
        );
    }

    #[test]
    fn random_strings_use_the_alphabet() {
        let s = random_string(500, b"ab").unwrap();
        assert_eq!(s.len(), 500);
        assert!(s.contains('a') && s.contains('b') && s.bytes().all(|b| b == b'a' || b == b'b'));
        let id = random_uuid().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}
