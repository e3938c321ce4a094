//! SigV4-X509 signing of the CreateSession request: canonical request, string to sign and
//! `Authorization` header, as IAM Roles Anywhere verifies them. Building the request
//! ([`request`]) is apart from signing it ([`sign`]).
//!
//! Pure: no I/O and no clock. The time is passed in and the signature comes from a [`Signer`].

pub mod canonical;
pub mod request;

use time::OffsetDateTime;

pub use canonical::*;
pub use request::{CreateSessionParams, SigningIdentity, UnsignedRequest};

use crate::error::Result;
use crate::identity::{Digest, Signer};

/// A signed CreateSession request, ready for any HTTP client.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// `/sessions?…`
    pub path_and_query: String,
    /// Every header to send, `Host` first, `Authorization` last.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Kept for `--debug` traces and tests; holds no secret.
    pub canonical_request: String,
    /// Kept for `--debug` traces and tests; holds no secret.
    pub string_to_sign: String,
}

/// What signing needs besides the request: the region, and the key with its certificate serial
/// (the SigV4-X509 credential).
pub struct SigningParams<'a> {
    /// The region of the credential scope.
    pub region: &'a str,
    /// The leaf certificate's serial number in decimal.
    pub serial_decimal: &'a str,
    /// The private key.
    pub signer: &'a dyn Signer,
}

/// Signs `request`: the `Authorization` header is added last.
pub fn sign(request: UnsignedRequest, params: &SigningParams<'_>) -> Result<SignedRequest> {
    let signer = params.signer;
    let UnsignedRequest {
        method,
        path,
        canonical_query,
        mut headers,
        body,
        amz_date,
        date,
    } = request;
    let (header_block, signed_headers) = canonical_headers(&headers);
    let canonical_request = canonical_request(
        method,
        path,
        &canonical_query,
        &header_block,
        &signed_headers,
        &hex_sha256(&body),
    );
    let algorithm = signer.algorithm().sigv4_algorithm();
    let scope = credential_scope(&date, params.region, SERVICE);
    let string_to_sign = string_to_sign(algorithm, &amz_date, &scope, &canonical_request);
    let signature = signer.sign(string_to_sign.as_bytes(), Digest::Sha256)?;
    headers.push((
        "Authorization".to_string(),
        authorization(
            algorithm,
            params.serial_decimal,
            &scope,
            &signed_headers,
            &signature,
        ),
    ));
    Ok(SignedRequest {
        path_and_query: format!("{path}?{canonical_query}"),
        headers,
        body,
        canonical_request,
        string_to_sign,
    })
}

/// Builds and signs the CreateSession request for `host` (with `:port` when not 443).
pub fn sign_create_session(
    params: &CreateSessionParams,
    host: &str,
    region: &str,
    identity: SigningIdentity<'_>,
    now: OffsetDateTime,
    signer: &dyn Signer,
) -> Result<SignedRequest> {
    let request = request::create_session(params, host, identity, now)?;
    sign(
        request,
        &SigningParams {
            region,
            serial_decimal: identity.serial_decimal,
            signer,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_rfc3986() {
        assert_eq!(
            uri_encode("arn:aws:iam::1:role/x y", false),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx%20y"
        );
        assert_eq!(uri_encode("/a b/c~", true), "/a%20b/c~");
        assert_eq!(uri_encode("ሴ", false), "%E1%88%B4");
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(canonical_uri("/./", true), "/");
        assert_eq!(canonical_uri("/./", false), "/./");
        assert_eq!(canonical_uri("//example//", true), "/example/");
        assert_eq!(canonical_uri("/example/..", true), "/");
        assert_eq!(canonical_uri("/a/b/../c", true), "/a/c");
        assert_eq!(canonical_uri("", true), "/");
    }

    #[test]
    fn folds_and_merges_headers() {
        let headers = vec![
            ("My-Header1".to_string(), "  a   b  ".to_string()),
            ("host".to_string(), "x".to_string()),
            ("my-header1".to_string(), "c".to_string()),
        ];
        let (block, signed) = canonical_headers(&headers);
        assert_eq!(block, "host:x\nmy-header1:a b,c\n");
        assert_eq!(signed, "host;my-header1");
    }

    #[test]
    fn formats_amz_date() {
        let t = time::macros::datetime!(2015-08-30 12:36:00 UTC);
        assert_eq!(
            amz_date(t),
            ("20150830T123600Z".to_string(), "20150830".to_string())
        );
        let shifted = time::macros::datetime!(2015-08-30 23:36:00 -2);
        assert_eq!(amz_date(shifted).0, "20150831T013600Z");
    }

    /// The fixed RSA key and certificate in `certs/`.
    fn kat_key_and_certificate() -> (
        crate::identity::key_file::FileKey,
        crate::identity::certificate::Certificate,
    ) {
        let key = crate::identity::key_file::parse(
            include_bytes!("../../certs/kat-rsa2048.key"),
            "kat key",
        )
        .unwrap();
        let cert = crate::identity::certificate::parse_bundle(
            include_bytes!("../../certs/kat-rsa2048.pem"),
            "kat cert",
        )
        .unwrap()
        .remove(0);
        (key, cert)
    }

    /// The whole request for a fixed RSA key, certificate and time, against answers computed by
    /// `certs/make-kat.py` with Python and the openssl command line.
    #[test]
    fn rsa_known_answer_matches_an_independent_implementation() {
        let expected: serde_json::Value =
            serde_json::from_str(include_str!("../../certs/kat-rsa2048.expected.json")).unwrap();
        let (key, cert) = kat_key_and_certificate();
        let text = |k: &str| expected[k].as_str().unwrap().to_string();
        let params = CreateSessionParams {
            trust_anchor_arn: text("trustAnchorArn"),
            profile_arn: text("profileArn"),
            role_arn: text("roleArn"),
            duration_seconds: 3600,
            role_session_name: None,
        };
        let identity = SigningIdentity {
            leaf_der: &cert.der,
            chain_der: &[],
            serial_decimal: &cert.serial_decimal,
        };
        let now = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let signed =
            sign_create_session(&params, &text("host"), &text("region"), identity, now, &key)
                .unwrap();
        assert_eq!(signed.canonical_request, text("canonical_request"));
        assert_eq!(signed.string_to_sign, text("string_to_sign"));
        let authorization = signed
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .unwrap();
        assert_eq!(authorization.1, text("authorization"));
        assert_eq!(signed.body, br#"{"durationSeconds":3600}"#);
    }

    #[test]
    fn chain_header_is_signed_and_never_holds_the_leaf() {
        let (key, cert) = kat_key_and_certificate();
        let chain = vec![vec![1u8, 2, 3], vec![4u8, 5]];
        let identity = SigningIdentity {
            leaf_der: &cert.der,
            chain_der: &chain,
            serial_decimal: "7",
        };
        let params = CreateSessionParams {
            trust_anchor_arn: "ta".into(),
            profile_arn: "p".into(),
            role_arn: "r".into(),
            duration_seconds: 900,
            role_session_name: Some("edge-1".into()),
        };
        let now = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let signed =
            sign_create_session(&params, "h:8443", "eu-west-1", identity, now, &key).unwrap();
        let header = |name: &str| {
            signed
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("X-Amz-X509-Chain").as_deref(), Some("AQID,BAU="));
        assert!(
            header("Authorization").unwrap().contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain,"
            )
        );
        assert!(
            header("Authorization")
                .unwrap()
                .contains("Credential=7/20260102/eu-west-1/rolesanywhere/aws4_request")
        );
        assert_eq!(
            signed.body,
            br#"{"durationSeconds":900,"roleSessionName":"edge-1"}"#
        );
        assert!(signed.canonical_request.contains("\nhost:h:8443\n"));
    }
}
