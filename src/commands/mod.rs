//! The commands, each a function from parsed arguments to the bytes it prints on stdout.
//! `main` only maps their errors to exit codes.

pub mod demo;
pub mod doctor;

use std::path::Path;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::cli::{
    CredentialArgs, DigestName, ExecArgs, ExportArgs, KeyArgs, ReadCertificateArgs, SignStringArgs,
    SignStringFormat,
};
use crate::credentials::{Credentials, SessionInfo};
use crate::error::{Error, Result};
use crate::identity::certificate::{self, Certificate};
use crate::identity::pkcs12;
use crate::identity::secret_prompt::PasswordSource;
use crate::identity::{Digest, Signer, key_file as file, pkcs11};
use crate::session::{ClientOptions, SessionClient};
use crate::settings::endpoint::{self, EndpointEnv};
use crate::settings::session as inputs;
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
        if let Some(v) = value
            && v.starts_with("handle:")
            && flag == "--certificate"
        {
            return Err(Error::invalid_argument(
                flag,
                "a TPM handle holds a key, not a certificate; give the certificate file, and the handle as --private-key",
            ));
        }
    }
    Ok(())
}

/// Loads the signing key: `--private-key`, else the `--certificate` file when it also holds the key.
pub fn load_signer(key: &KeyArgs) -> Result<Box<dyn Signer>> {
    check_key_source_supported(key)?;
    if pkcs11::key_in_token(key) {
        return pkcs11::load(key, false)?
            .signer
            .ok_or_else(|| Error::Internal("PKCS#11 load returned no signer".into()));
    }
    if let Some(tpm_key) = crate::identity::tpm::load_if_tpm_key(key)? {
        return Ok(tpm_key);
    }
    let password = match key.pkcs8_password.as_deref() {
        Some(password) => PasswordSource::Given(password),
        None => PasswordSource::Terminal,
    };
    let path = match (&key.private_key, &key.certificate) {
        (Some(key_path), _) if !key_path.is_empty() => key_path,
        (_, Some(cert_path)) if !cert_path.is_empty() => {
            let bytes =
                crate::support::input_file::read_secret(Path::new(cert_path), "--certificate")?;
            let input = format!("--certificate {cert_path}");
            if pkcs12::looks_like_pkcs12(&bytes) {
                let contents = pkcs12::open(&bytes, &input, key.pkcs12_password.as_deref())?;
                return Ok(Box::new(contents.key));
            }
            if !file::holds_private_key(&bytes) {
                return Err(Error::invalid_argument(
                    "--private-key",
                    "is required (the --certificate file holds no private key)",
                ));
            }
            return Ok(Box::new(file::parse_with_password(
                &bytes, &input, password,
            )?));
        }
        _ => {
            return Err(Error::invalid_argument(
                "--private-key",
                "is required; give the path of the private key file",
            ));
        }
    };
    let bytes = crate::support::input_file::read_secret(Path::new(path), "--private-key")?;
    if let Some(tpm_key) = crate::identity::tpm::key_from_file_bytes(key, path, &bytes)? {
        return Ok(tpm_key);
    }
    let input = format!("--private-key {path}");
    Ok(Box::new(file::parse_with_password(
        &bytes, &input, password,
    )?))
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
    if pkcs11::involved(key) {
        return load_token_identity(key, intermediates, now);
    }
    let cert_input = format!("--certificate {cert_path}");
    let cert_bytes = crate::support::input_file::read(Path::new(cert_path), "--certificate")?;
    if pkcs12::looks_like_pkcs12(&cert_bytes) {
        return load_pkcs12_identity(key, &cert_bytes, &cert_input, intermediates, now);
    }
    let mut certificate_file = certificate::parse_bundle(&cert_bytes, &cert_input)?;
    let leaf = certificate_file.remove(0);
    // Without --intermediates, the other certificates of a full-chain file are the chain.
    let mut chain = match intermediates {
        Some(path) => certificate::load_chain(path)?,
        None => certificate_file,
    };
    // X-Amz-X509-Chain never holds the leaf, even when a bundle repeats it.
    chain.retain(|c| c.der != leaf.der);
    let signer = load_signer(key)?;
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

/// The identity when the certificate or the key (or both) live on a PKCS#11 token.
fn load_token_identity(
    key: &KeyArgs,
    intermediates: Option<&Path>,
    now: OffsetDateTime,
) -> Result<Identity> {
    let token = pkcs11::load(key, intermediates.is_none())?;
    let leaf = match token.leaf {
        Some(leaf) => leaf,
        None => match key.certificate.as_deref() {
            Some(path) => certificate::load_leaf(Path::new(path))?,
            None => {
                return Err(Error::invalid_argument(
                    "--certificate",
                    "is required; give a certificate file or a pkcs11: URI",
                ));
            }
        },
    };
    let signer = match token.signer {
        Some(signer) => signer,
        None => load_signer(key)?,
    };
    let mut chain = match intermediates {
        Some(path) => certificate::load_chain(path)?,
        None => token.chain,
    };
    chain.retain(|c| c.der != leaf.der);
    leaf.check_key_matches(signer.public_key(), &token.cert_input, &token.key_input)?;
    leaf.check_validity(now, &token.cert_input)?;
    Ok(Identity {
        leaf,
        chain,
        signer,
    })
}

/// The identity inside a PKCS#12 `--certificate`: its leaf, chain and key.
fn load_pkcs12_identity(
    key: &KeyArgs,
    bytes: &[u8],
    cert_input: &str,
    intermediates: Option<&Path>,
    now: OffsetDateTime,
) -> Result<Identity> {
    // As AWS's helper: the bundle is the whole identity.
    if intermediates.is_some() {
        return Err(Error::invalid_argument(
            "--intermediates",
            "cannot be used with a PKCS#12 --certificate; put the chain in the bundle",
        ));
    }
    if key.private_key.as_deref().is_some_and(|k| !k.is_empty()) {
        return Err(Error::invalid_argument(
            "--private-key",
            "cannot be used with a PKCS#12 --certificate; the bundle holds the key",
        ));
    }
    let contents = pkcs12::open(bytes, cert_input, key.pkcs12_password.as_deref())?;
    contents.leaf.check_validity(now, cert_input)?;
    let mut chain = contents.others;
    chain.retain(|c| c.der != contents.leaf.der);
    Ok(Identity {
        leaf: contents.leaf,
        chain,
        signer: Box::new(contents.key),
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

/// The checked inputs and loaded identity: everything CreateSession needs but the network.
pub struct Prepared {
    pub inputs: inputs::SessionInputs,
    pub identity: std::sync::Arc<Identity>,
    pub endpoint: endpoint::Endpoint,
}

/// The request inputs of a command line, checked.
pub fn validate_inputs(args: &CredentialArgs) -> Result<inputs::SessionInputs> {
    inputs::validate(
        &args.trust_anchor_arn,
        &args.profile_arn,
        &args.role_arn,
        args.region.as_deref(),
        args.session_duration,
        args.role_session_name.as_deref(),
    )
}

pub fn resolve_endpoint(
    args: &CredentialArgs,
    inputs: &inputs::SessionInputs,
) -> Result<endpoint::Endpoint> {
    endpoint::resolve(
        &inputs.region,
        args.endpoint.as_deref(),
        &EndpointEnv::from_process(),
    )
}

/// Validates the arguments, loads and checks the certificate and key, resolves the endpoint.
pub fn prepare(args: &CredentialArgs) -> Result<Prepared> {
    let inputs = validate_inputs(args)?;
    let now = OffsetDateTime::now_utc();
    let identity = load_identity_reusing(args, now)?;
    let endpoint = resolve_endpoint(args, &inputs)?;
    Ok(Prepared::new(inputs, identity, endpoint, now))
}

impl Prepared {
    /// From parts already checked (as `doctor` checks them one by one); warns, once per run, of
    /// a certificate about to expire or a session too short to use.
    pub fn new(
        inputs: inputs::SessionInputs,
        identity: std::sync::Arc<Identity>,
        endpoint: endpoint::Endpoint,
        now: OffsetDateTime,
    ) -> Prepared {
        warn_once(&identity.leaf, inputs.duration_seconds, now);
        Prepared {
            inputs,
            identity,
            endpoint,
        }
    }
}

type KeptIdentity = Option<([u8; 32], std::sync::Arc<Identity>)>;
static KEPT_IDENTITY: std::sync::Mutex<KeptIdentity> = std::sync::Mutex::new(None);
static KEEP_IDENTITY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For long-running commands: keep the identity between refreshes (see below) until
/// [`release_kept_identity`].
pub fn keep_identity_between_refreshes() {
    KEEP_IDENTITY.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Drops the kept identity, so a TPM key is flushed and a token session closed before exit
/// (statics are never dropped, and a TPM without a resource manager has few object slots).
pub fn release_kept_identity() {
    KEEP_IDENTITY.store(false, std::sync::atomic::Ordering::SeqCst);
    let released = KEPT_IDENTITY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    drop(released);
}

/// The identity, loaded again only when the certificate, key or chain files changed.
///
/// A long-running process (serve, update) refreshes through here: a renewed certificate is
/// picked up at the next refresh, while a key on a PKCS#11 token or in a TPM keeps its session,
/// login or loaded object instead of setting them up for every refresh. One-shot commands load
/// it afresh and drop it at the end.
fn load_identity_reusing(
    args: &CredentialArgs,
    now: OffsetDateTime,
) -> Result<std::sync::Arc<Identity>> {
    if !KEEP_IDENTITY.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(std::sync::Arc::new(load_identity(
            &args.key,
            args.intermediates.as_deref(),
            now,
        )?));
    }
    let fingerprint = identity_fingerprint(args);
    let mut kept = KEPT_IDENTITY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((kept_fingerprint, identity)) = kept.as_ref()
        && *kept_fingerprint == fingerprint
    {
        let cert_input = format!(
            "--certificate {}",
            args.key.certificate.as_deref().unwrap_or("")
        );
        identity.leaf.check_validity(now, &cert_input)?;
        return Ok(identity.clone());
    }
    let identity = std::sync::Arc::new(load_identity(
        &args.key,
        args.intermediates.as_deref(),
        now,
    )?);
    *kept = Some((fingerprint, identity.clone()));
    Ok(identity)
}

/// A hash of what the identity is loaded from: every argument, and the contents of the files
/// among them (URIs, handles, `env:` and `-` stand for themselves).
fn identity_fingerprint(args: &CredentialArgs) -> [u8; 32] {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    let key = &args.key;
    let intermediates = args
        .intermediates
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    let sources = [&key.certificate, &key.private_key, &intermediates];
    for source in sources {
        let text = source.as_deref().unwrap_or("");
        hash.update((text.len() as u64).to_be_bytes());
        hash.update(text.as_bytes());
        let is_file = !text.is_empty()
            && !text.starts_with("pkcs11:")
            && !text.starts_with("handle:")
            && !text.starts_with("env:")
            && text != "-";
        if is_file && let Ok(contents) = std::fs::read(text) {
            hash.update(sha2::Sha256::digest(&contents));
        }
    }
    for flag in [
        &key.pkcs11_lib,
        &key.pkcs8_password,
        &key.pkcs12_password,
        &key.tpm_key_password,
    ] {
        hash.update([u8::from(flag.is_some())]);
        hash.update(sha2::Sha256::digest(
            flag.as_deref().unwrap_or("").as_bytes(),
        ));
    }
    hash.update([
        u8::from(key.reuse_pin == Some(true)),
        u8::from(key.no_tpm_key_password == Some(true)),
    ]);
    hash.finalize().into()
}

/// Warnings a user should see, once per process: a certificate about to expire, and a session
/// so short that the SDKs would run the helper again almost at once.
fn warn_once(leaf: &Certificate, duration_seconds: u32, now: OffsetDateTime) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        let left = leaf.not_after - now;
        if left < time::Duration::days(30) {
            tracing::warn!(
                "the certificate (serial {}) expires in {} days, at {}; renew it",
                leaf.serial_decimal,
                left.whole_days(),
                crate::output::iso8601(leaf.not_after)
            );
        }
        // SDKs refresh 15 minutes before expiry: a 15-minute session is stale on arrival.
        if duration_seconds < 20 * 60 {
            let minutes = duration_seconds / 60;
            tracing::warn!(
                "--session-duration {duration_seconds}: SDKs refresh credentials 15 minutes before they expire, so {minutes}-minute credentials are used for {} minutes before the helper runs again; use 1800 or more",
                minutes.saturating_sub(15)
            );
        }
    });
}

impl Prepared {
    /// A hash of every input that changes CreateSession's answer: the cache key.
    pub fn cache_key(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let mut hash = sha2::Sha256::new();
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        field(b"rolesanywhere-helper cache v1");
        field(&self.identity.leaf.der);
        field(self.identity.signer.public_key().describe().as_bytes());
        for certificate in &self.identity.chain {
            field(&certificate.der);
        }
        field(self.inputs.trust_anchor_arn.as_bytes());
        field(self.inputs.profile_arn.as_bytes());
        field(self.inputs.role_arn.as_bytes());
        field(self.inputs.region.as_bytes());
        field(self.endpoint.url.as_str().as_bytes());
        field(&self.inputs.duration_seconds.to_be_bytes());
        field(
            self.inputs
                .role_session_name
                .as_deref()
                .unwrap_or("")
                .as_bytes(),
        );
        hash.finalize().into()
    }

    /// Calls CreateSession. The first request is signed on another thread while this one sets
    /// up the client and opens the connection: the key's work (an RSA signature, a token or TPM
    /// round trip) overlaps the network's; a key that signs in microseconds signs here. The
    /// certificate and key were checked before.
    pub fn fetch(&self, options: &ClientOptions) -> Result<(Credentials, SessionInfo)> {
        let (inputs, endpoint, identity) = (&self.inputs, &self.endpoint, &*self.identity);
        let (first_request, pending) = tokio::sync::oneshot::channel();
        let (credentials, info) = std::thread::scope(|scope| {
            let sign_first = || {
                let request = sign_request(inputs, endpoint, identity, OffsetDateTime::now_utc());
                let _ = first_request.send(request);
            };
            if identity.signer.signs_quickly() {
                sign_first();
            } else {
                std::thread::Builder::new()
                    .name("sign".into())
                    .spawn_scoped(scope, sign_first)
                    .map_err(|e| Error::Internal(format!("starting a thread: {e}")))?;
            }
            let client = SessionClient::new(endpoint.clone(), options)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
            // Retries sign afresh: a retried request never carries a stale date.
            let sign = |now: OffsetDateTime| sign_request(inputs, endpoint, identity, now);
            runtime.block_on(client.create_session(&sign, Some(pending)))
        })?;
        // The audit line: who got which role, never a secret.
        tracing::info!(
            request_id = info.request_id.as_deref().unwrap_or(""),
            serial = %identity.leaf.serial_decimal,
            role = %inputs.role_arn,
            assumed_role = info.assumed_role_arn.as_deref().unwrap_or(""),
            access_key_id = %credentials.access_key_id,
            expiration = %crate::output::iso8601(credentials.expiration),
            "CreateSession succeeded"
        );
        Ok((credentials, info))
    }
}

/// The CreateSession request for `identity`, signed as of `now`.
fn sign_request(
    inputs: &inputs::SessionInputs,
    endpoint: &endpoint::Endpoint,
    identity: &Identity,
    now: OffsetDateTime,
) -> Result<sigv4x509::SignedRequest> {
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
    sigv4x509::sign_create_session(
        &params,
        &endpoint.host_header,
        &inputs.region,
        signing_identity,
        now,
        identity.signer.as_ref(),
    )
}

/// Everything `credential-process` does but printing and caching; the same path serves the
/// demo, serve, update and tests.
pub fn fetch_credentials(
    args: &CredentialArgs,
    options: &ClientOptions,
) -> Result<(Credentials, SessionInfo)> {
    prepare(args)?.fetch(options)
}

/// Credentials for the short-lived commands: from the cache when it is on and holds good ones.
fn credentials_for_one_run(args: &CredentialArgs) -> Result<Credentials> {
    let prepared = prepare(args)?;
    let options = client_options(args);
    if !crate::credentials::cache::enabled(args.cache) {
        return Ok(prepared.fetch(&options)?.0);
    }
    let directory = match &args.cache_dir {
        Some(directory) => directory.clone(),
        None => crate::credentials::cache::default_directory()?,
    };
    // The cache is an optimisation: a directory that cannot be trusted costs a warning, not the run.
    match crate::credentials::cache::Cache::open(directory) {
        Ok(cache) => cache.get_or_fetch(&prepared.cache_key(), || Ok(prepared.fetch(&options)?.0)),
        Err(problem) => {
            tracing::warn!("not using the credential cache: {problem}");
            Ok(prepared.fetch(&options)?.0)
        }
    }
}

/// `credential-process`: the JSON document, with no trailing newline (as AWS's helper prints it).
pub fn credential_process(args: &CredentialArgs) -> Result<Zeroizing<String>> {
    let credentials = credentials_for_one_run(args)?;
    Ok(crate::output::credential_process_json(&credentials))
}

/// `export`: the credentials in one of the AWS CLI's export formats.
pub fn export(args: &ExportArgs) -> Result<Zeroizing<String>> {
    let (credentials, _) =
        fetch_credentials(&args.credentials, &client_options(&args.credentials))?;
    Ok(crate::output::export::format(
        &credentials,
        args.format,
        &args.ini_profile,
    ))
}

/// `exec`: runs the command with the credentials and the region in its environment; returns
/// the exit code to leave with.
pub fn exec(args: &ExecArgs) -> Result<i32> {
    crate::output::export::exec(
        || {
            let credentials = credentials_for_one_run(&args.credentials)?;
            Ok((credentials, validate_inputs(&args.credentials)?.region))
        },
        &args.command,
    )
}

/// The fixed message `sign-string` signs: a prefix, the test version, and a hash of the key
/// (none for ML-DSA keys, as AWS's helper 1.8 signs them).
pub fn signing_test_message(public_key_bytes: Option<&[u8]>) -> Vec<u8> {
    let mut message = b"AWS Roles Anywhere Credential Helper Signing Test1".to_vec();
    if let Some(bytes) = public_key_bytes {
        let mut keyed = b"IAM RA".to_vec();
        keyed.extend_from_slice(bytes);
        message.extend_from_slice(&Digest::Sha256.hash(&keyed));
    }
    message
}

/// `sign-string`: signs the fixed test message and formats the signature.
pub fn sign_string(args: &SignStringArgs) -> Result<Vec<u8>> {
    let signer = if pkcs11::involved(&args.key) {
        let token = pkcs11::load(&args.key, false)?;
        let signer = match token.signer {
            Some(signer) => signer,
            None => load_signer(&args.key)?,
        };
        if let Some(leaf) = &token.leaf {
            leaf.check_key_matches(signer.public_key(), &token.cert_input, &token.key_input)?;
        }
        signer
    } else {
        load_signer(&args.key)?
    };
    let cert_file = args
        .key
        .certificate
        .as_deref()
        .filter(|p| !p.is_empty() && !pkcs11::involved(&args.key));
    if let Some(cert_path) = cert_file {
        let bytes = crate::support::input_file::read(Path::new(cert_path), "--certificate")?;
        let cert_input = format!("--certificate {cert_path}");
        // A PKCS#12 bundle gave the key itself; a certificate file must match the key.
        if !pkcs12::looks_like_pkcs12(&bytes) {
            let cert = certificate::parse_bundle(&bytes, &cert_input)?.remove(0);
            let key_input = args
                .key
                .private_key
                .as_deref()
                .map(|p| format!("--private-key {p}"));
            cert.check_key_matches(
                signer.public_key(),
                &cert_input,
                key_input.as_deref().unwrap_or(&cert_input),
            )?;
        }
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
    if pkcs11::is_pkcs11_uri(path) {
        return pkcs11::list_certificates(path, args.pkcs11_lib.as_deref());
    }
    let cert = certificate::load_leaf(Path::new(path))?;
    use base64::Engine as _;
    let key_type = cert.public_key.as_ref().map(|k| k.key_type()).unwrap_or("");
    let algorithms = match &cert.public_key {
        Ok(key) => key.supported_algorithms(),
        // As AWS's helper for keys it does not know.
        Err(_) => ["SHA256", "SHA384", "SHA512"]
            .iter()
            .map(|d| d.to_string())
            .collect(),
    };
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
