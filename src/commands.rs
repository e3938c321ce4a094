//! The commands, each a function from parsed arguments to the bytes it prints on stdout.
//! `main` only maps their errors to exit codes.

use std::path::Path;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::certificate::{self, Certificate};
use crate::cli::{
    CredentialArgs, DigestName, KeyArgs, ReadCertificateArgs, SignStringArgs, SignStringFormat,
};
use crate::credentials::{Credentials, SessionInfo};
use crate::endpoint::{self, EndpointEnv};
use crate::error::{Error, Result};
use crate::inputs;
use crate::key_source::{Digest, Signer, file};
use crate::session::{ClientOptions, SessionClient};
use crate::sigv4x509::{self, CreateSessionParams, SigningIdentity};

/// A leaf certificate, its chain and the key that signs for it, checked against each other.
pub struct Identity {
    pub leaf: Certificate,
    pub chain: Vec<Certificate>,
    pub signer: Box<dyn Signer>,
}

/// Refuses key sources this build does not handle, with what to use instead.
fn check_key_source_supported(key: &KeyArgs) -> Result<()> {
    if key.cert_selector.is_some()
        || key.system_store_name.is_some()
        || key.use_latest_expiring_certificate == Some(true)
    {
        return Err(Error::invalid_argument(
            "--cert-selector",
            "certificate stores exist only on Windows and macOS; on Linux give --certificate and --private-key",
        ));
    }
    for (flag, value) in [
        ("--certificate", &key.certificate),
        ("--private-key", &key.private_key),
    ] {
        if let Some(v) = value {
            if v.starts_with("pkcs11:") {
                return Err(Error::invalid_argument(
                    flag,
                    "PKCS#11 URIs are not supported by this build yet; export the certificate and use a key file",
                ));
            }
            if v.starts_with("handle:") {
                return Err(Error::invalid_argument(
                    flag,
                    "TPM handles are not supported by this build yet",
                ));
            }
        }
    }
    Ok(())
}

/// Loads the signing key: `--private-key`, else the `--certificate` file when it also holds the key.
pub fn load_signer(key: &KeyArgs) -> Result<Box<dyn Signer>> {
    check_key_source_supported(key)?;
    let path = match (&key.private_key, &key.certificate) {
        (Some(key_path), _) if !key_path.is_empty() => key_path,
        (_, Some(cert_path)) if !cert_path.is_empty() => {
            let bytes = crate::input_file::read_secret(Path::new(cert_path), "--certificate")?;
            return file::parse(&bytes, &format!("--certificate {cert_path}"))
                .map(|k| Box::new(k) as Box<dyn Signer>)
                .map_err(|_| {
                    Error::invalid_argument(
                        "--private-key",
                        "is required (the --certificate file holds no private key)",
                    )
                });
        }
        _ => {
            return Err(Error::invalid_argument(
                "--private-key",
                "is required; give the path of the private key file",
            ));
        }
    };
    Ok(Box::new(file::load(Path::new(path))?))
}

/// Loads and cross-checks the certificate, chain and key, as of `now`.
pub fn load_identity(
    key: &KeyArgs,
    intermediates: Option<&Path>,
    now: OffsetDateTime,
) -> Result<Identity> {
    check_key_source_supported(key)?;
    let Some(cert_path) = key.certificate.as_deref().filter(|p| !p.is_empty()) else {
        return Err(Error::invalid_argument(
            "--certificate",
            "is required; give the path of the certificate file",
        ));
    };
    let mut certificate_file = certificate::load_bundle(Path::new(cert_path))?;
    let leaf = certificate_file.remove(0);
    // Without --intermediates, the other certificates of a full-chain file are the chain.
    let mut chain = match intermediates {
        Some(path) => certificate::load_chain(path)?,
        None => certificate_file,
    };
    // X-Amz-X509-Chain never holds the leaf, even when a bundle repeats it.
    chain.retain(|c| c.der != leaf.der);
    let signer = load_signer(key)?;
    let cert_input = format!("--certificate {cert_path}");
    let key_input = match &key.private_key {
        Some(p) => format!("--private-key {p}"),
        None => cert_input.clone(),
    };
    leaf.check_key_matches(signer.public_key(), &cert_input, &key_input)?;
    leaf.check_validity(now, &cert_input)?;
    Ok(Identity {
        leaf,
        chain,
        signer,
    })
}

/// The client options a command line implies: `--no-verify-ssl` and `AWS_CA_BUNDLE`.
pub fn client_options(args: &CredentialArgs) -> ClientOptions {
    ClientOptions {
        no_verify_ssl: args.no_verify_ssl == Some(true),
        ca_bundle: std::env::var_os("AWS_CA_BUNDLE")
            .filter(|v| !v.is_empty())
            .map(Into::into),
        ..Default::default()
    }
}

/// Everything `credential-process` does but printing; the same path serves the demo and tests.
pub fn fetch_credentials(
    args: &CredentialArgs,
    options: &ClientOptions,
) -> Result<(Credentials, SessionInfo)> {
    let inputs = inputs::validate(
        &args.trust_anchor_arn,
        &args.profile_arn,
        &args.role_arn,
        args.region.as_deref(),
        args.session_duration,
        args.role_session_name.as_deref(),
    )?;
    let identity = load_identity(
        &args.key,
        args.intermediates.as_deref(),
        OffsetDateTime::now_utc(),
    )?;
    let endpoint = endpoint::resolve(
        &inputs.region,
        args.endpoint.as_deref(),
        &EndpointEnv::from_process(),
    )?;
    let client = SessionClient::new(endpoint, options)?;
    let params = CreateSessionParams {
        trust_anchor_arn: inputs.trust_anchor_arn.clone(),
        profile_arn: inputs.profile_arn.clone(),
        role_arn: inputs.role_arn.clone(),
        duration_seconds: inputs.duration_seconds,
        role_session_name: inputs.role_session_name.clone(),
    };
    let chain_der: Vec<Vec<u8>> = identity.chain.iter().map(|c| c.der.clone()).collect();
    let signing_identity = SigningIdentity {
        leaf_der: &identity.leaf.der,
        chain_der: &chain_der,
        serial_decimal: &identity.leaf.serial_decimal,
    };
    let host = client.endpoint().host_header.clone();
    let sign = |now: OffsetDateTime| {
        sigv4x509::sign_create_session(
            &params,
            &host,
            &inputs.region,
            signing_identity,
            now,
            identity.signer.as_ref(),
        )
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
    let (credentials, info) = runtime.block_on(client.create_session(&sign))?;
    tracing::info!(
        serial = %identity.leaf.serial_decimal,
        role = %inputs.role_arn,
        assumed_role = info.assumed_role_arn.as_deref().unwrap_or(""),
        expiration = %crate::output::iso8601(credentials.expiration),
        "CreateSession succeeded"
    );
    Ok((credentials, info))
}

/// `credential-process`: the JSON document, with no trailing newline (as AWS's helper prints it).
pub fn credential_process(args: &CredentialArgs) -> Result<Zeroizing<String>> {
    let (credentials, _) = fetch_credentials(args, &client_options(args))?;
    Ok(crate::output::credential_process_json(&credentials))
}

/// The fixed message `sign-string` signs: a prefix, the test version, and a hash of the key.
pub fn signing_test_message(public_key_bytes: &[u8]) -> Vec<u8> {
    let mut message = b"AWS Roles Anywhere Credential Helper Signing Test1".to_vec();
    let mut keyed = b"IAM RA".to_vec();
    keyed.extend_from_slice(public_key_bytes);
    message.extend_from_slice(&Digest::Sha256.hash(&keyed));
    message
}

/// `sign-string`: signs the fixed test message and formats the signature.
pub fn sign_string(args: &SignStringArgs) -> Result<Vec<u8>> {
    let signer = load_signer(&args.key)?;
    if let Some(cert_path) = args.key.certificate.as_deref().filter(|p| !p.is_empty()) {
        let cert = certificate::load_leaf(Path::new(cert_path))?;
        let key_input = args
            .key
            .private_key
            .as_deref()
            .map(|p| format!("--private-key {p}"));
        let cert_input = format!("--certificate {cert_path}");
        cert.check_key_matches(
            signer.public_key(),
            &cert_input,
            key_input.as_deref().unwrap_or(&cert_input),
        )?;
    }
    let digest = match args.digest {
        DigestName::Sha256 => Digest::Sha256,
        DigestName::Sha384 => Digest::Sha384,
        DigestName::Sha512 => Digest::Sha512,
    };
    let message = signing_test_message(signer.public_key().signing_test_bytes());
    let signature = signer.sign(&message, digest)?;
    Ok(match args.format {
        SignStringFormat::Json => format!("\"{}\"", hex::encode(&signature)).into_bytes(),
        SignStringFormat::Text => hex::encode(&signature).into_bytes(),
        SignStringFormat::Bin => signature,
    })
}

/// `read-certificate-data`: compact JSON with no trailing newline, fields in AWS's order.
pub fn read_certificate_data(args: &ReadCertificateArgs) -> Result<String> {
    if args.cert_selector.is_some() || args.system_store_name.is_some() {
        return Err(Error::invalid_argument(
            "--cert-selector",
            "certificate stores exist only on Windows and macOS; on Linux give --certificate",
        ));
    }
    let Some(path) = args.certificate.as_deref().filter(|p| !p.is_empty()) else {
        return Err(Error::invalid_argument(
            "--certificate",
            "is required; give the path of the certificate file",
        ));
    };
    if path.starts_with("pkcs11:") {
        return Err(Error::invalid_argument(
            "--certificate",
            "PKCS#11 URIs are not supported by this build yet",
        ));
    }
    let cert = certificate::load_leaf(Path::new(path))?;
    use base64::Engine as _;
    let key_type = cert.public_key.as_ref().map(|k| k.key_type()).unwrap_or("");
    let algorithms: Vec<String> = ["SHA256", "SHA384", "SHA512"]
        .iter()
        .map(|d| format!("{key_type}{d}"))
        .collect();
    // A struct, not a map: AWS's helper prints the fields in this order.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct CertificateData {
        key_type: &'static str,
        certificate_data: String,
        serial_number: String,
        supported_algorithms: Vec<String>,
    }
    let document = CertificateData {
        key_type,
        certificate_data: base64::engine::general_purpose::STANDARD.encode(&cert.der),
        serial_number: cert.serial_decimal,
        supported_algorithms: algorithms,
    };
    serde_json::to_string(&document).map_err(|e| Error::Internal(format!("encoding JSON: {e}")))
}
