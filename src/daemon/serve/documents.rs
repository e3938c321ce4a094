//! The credentials documents serve answers with, rendered once per refresh into buffers that
//! are zeroized when the last answer holding them is gone.

use bytes::Bytes;
use serde::Serialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::support::timestamp::iso8601;

/// The three credentials documents, rendered once when credentials arrive rather than on every
/// request: each answer shares them (a reference count, no copy), and the buffers, which hold
/// the secrets, are zeroized when the last answer holding them is gone.
pub(super) struct Documents {
    /// The IMDS document.
    pub(super) imds: Bytes,
    /// The IMDS document with the account id (`security-credentials-extended`).
    pub(super) imds_extended: Bytes,
    /// The container endpoint's document.
    pub(super) container: Bytes,
}

impl Documents {
    /// The documents for `credentials`.
    pub(super) fn render(
        credentials: &Credentials,
        last_updated: OffsetDateTime,
        account_id: &str,
    ) -> Result<Documents> {
        let c = credentials;
        let imds = |account_id| ImdsCredentials {
            code: "Success",
            last_updated: iso8601(last_updated),
            kind: "AWS-HMAC",
            access_key_id: &c.access_key_id,
            secret_access_key: &c.secret_access_key,
            token: &c.session_token,
            expiration: iso8601(c.expiration),
            account_id,
        };
        Ok(Documents {
            imds: secret_json(&imds(None))?,
            imds_extended: secret_json(&imds(Some(account_id)))?,
            container: secret_json(&ContainerCredentials {
                access_key_id: &c.access_key_id,
                secret_access_key: &c.secret_access_key,
                token: &c.session_token,
                expiration: iso8601(c.expiration),
                account_id,
            })?,
        })
    }
}

/// A JSON document holding secrets, in a buffer zeroized when the last reference goes (and
/// large enough from the start that growing it leaves no stray copy behind).
fn secret_json(document: &impl Serialize) -> Result<Bytes> {
    let mut body = Zeroizing::new(Vec::with_capacity(8 * 1024));
    serde_json::to_writer(&mut *body, document)
        .map_err(|e| Error::Internal(format!("encoding JSON: {e}")))?;
    Ok(Bytes::from_owner(body))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImdsCredentials<'a> {
    code: &'static str,
    last_updated: String,
    #[serde(rename = "Type")]
    kind: &'static str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    account_id: &'a str,
}
