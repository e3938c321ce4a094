//! CreateSession made ready: the checked request, the identity and the endpoint, then the call
//! itself, with the first request signed while the connection opens.

use std::sync::Arc;

use time::OffsetDateTime;

use super::SessionClient;
use super::answer::{Credentials, SessionInfo};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::identity::certificate::Certificate;
use crate::settings::client::ClientOptions;
use crate::settings::credentials::CredentialSettings;
use crate::settings::endpoint::{self, Endpoint, EndpointEnv};
use crate::settings::identity::IdentitySpec;
use crate::settings::session::SessionInputs;
use crate::sigv4x509::{self, CreateSessionParams, SigningIdentity};

/// The checked inputs and loaded identity: everything CreateSession needs but the network.
pub struct Prepared {
    /// The request, checked.
    pub inputs: SessionInputs,
    /// The certificate, chain and key, checked against each other and the clock.
    pub identity: Arc<Identity>,
    /// Where the request goes.
    pub endpoint: Endpoint,
    /// Where AssumeRole goes, when the request chains into a role (`--assume-role-arn`).
    pub sts_endpoint: Option<Endpoint>,
}

/// The endpoint the settings and the environment name for `inputs`' region.
pub fn resolve_endpoint(settings: &CredentialSettings, inputs: &SessionInputs) -> Result<Endpoint> {
    endpoint::resolve(
        &inputs.region,
        settings.endpoint.as_deref(),
        &EndpointEnv::from_process()?,
    )
}

/// Checks the request, resolves the endpoint (both usage errors, found before any file is read),
/// gets the identity from `identity` (a fresh load, or one kept between refreshes) and checks it
/// against the clock.
pub fn prepare(
    settings: &CredentialSettings,
    identity: impl FnOnce(&IdentitySpec) -> Result<Arc<Identity>>,
) -> Result<Prepared> {
    let inputs = settings.request.validate()?;
    let endpoint = resolve_endpoint(settings, &inputs)?;
    let sts_endpoint = resolve_sts_endpoint(settings, &inputs)?;
    let now = OffsetDateTime::now_utc();
    let identity = identity(&settings.identity)?;
    identity.check_validity(now)?;
    let mut prepared = Prepared::new(inputs, identity, endpoint, now);
    prepared.sts_endpoint = sts_endpoint;
    Ok(prepared)
}

/// The STS endpoint a role chain calls (`--sts-endpoint`, the environment, the region's); `None`
/// without `--assume-role-arn`.
pub fn resolve_sts_endpoint(
    settings: &CredentialSettings,
    inputs: &SessionInputs,
) -> Result<Option<Endpoint>> {
    if inputs.chain.is_none() {
        return Ok(None);
    }
    let env = super::sts::sts_env_from_process()?;
    let explicit = settings.request.chain.sts_endpoint.as_deref();
    super::sts::resolve_endpoint(&inputs.region, explicit, &env).map(Some)
}

/// Loads the identity afresh: what one-shot commands do.
pub fn load_identity(spec: &IdentitySpec) -> Result<Arc<Identity>> {
    Ok(Arc::new(crate::identity::load(spec)?))
}

impl Prepared {
    /// From parts already checked (as `doctor` checks them one by one); warns, once per run, of
    /// a certificate about to expire or a session too short to use.
    pub fn new(
        inputs: SessionInputs,
        identity: Arc<Identity>,
        endpoint: Endpoint,
        now: OffsetDateTime,
    ) -> Prepared {
        warn_once(&identity.leaf, &inputs, now);
        Prepared {
            inputs,
            identity,
            endpoint,
            sts_endpoint: None,
        }
    }
}

/// Warnings a user should see, once per process: a certificate about to expire, and a session
/// so short that the SDKs would run the helper again almost at once.
fn warn_once(leaf: &Certificate, inputs: &SessionInputs, now: OffsetDateTime) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let duration_seconds = inputs.duration_seconds;
    WARNED.call_once(|| {
        // Well formed (validation refuses typos) but newer than this release, or a typo that
        // happens to be well formed: said, not refused.
        if !crate::settings::arn::is_known_region(&inputs.region) {
            tracing::warn!(
                "region {} is not one this release knows; if it is not a new AWS region, check its spelling",
                inputs.region
            );
        }
        let left = leaf.not_after - now;
        if left < time::Duration::days(30) {
            tracing::warn!(
                "the certificate (serial {}) expires in {} days, at {}; renew it",
                leaf.serial_decimal,
                left.whole_days(),
                crate::support::timestamp::iso8601(leaf.not_after)
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
    /// A hash of every input that changes the answer (CreateSession's, and AssumeRole's when
    /// the request chains into a role): the cache key.
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
        if let (Some(chain), Some(sts)) = (&self.inputs.chain, &self.sts_endpoint) {
            field(b"chain");
            field(chain.role_arn.as_bytes());
            field(&[u8::from(chain.external_id.is_some())]);
            field(chain.external_id.as_deref().unwrap_or("").as_bytes());
            field(self.chained_session_name(chain).as_bytes());
            field(&(chain.tags.len() as u64).to_be_bytes());
            for tag in &chain.tags {
                field(tag.key.as_bytes());
                field(tag.value.as_bytes());
            }
            field(&(chain.transitive_tag_keys.len() as u64).to_be_bytes());
            for key in &chain.transitive_tag_keys {
                field(key.as_bytes());
            }
            field(&chain.duration_seconds.to_be_bytes());
            field(sts.url.as_str().as_bytes());
        }
        hash.finalize().into()
    }

    /// The credentials to hand out: CreateSession's, chained into `--assume-role-arn`'s role when
    /// the request asks for it, with CreateSession's answer.
    pub fn fetch_chained(&self, options: &ClientOptions) -> Result<(Credentials, SessionInfo)> {
        let (credentials, info) = self.fetch(options)?;
        Ok((self.chain(options, credentials)?, info))
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
            expiration = %crate::support::timestamp::iso8601(credentials.expiration),
            "CreateSession succeeded"
        );
        Ok((credentials, info))
    }
}

/// The CreateSession request for `identity`, signed as of `now`.
fn sign_request(
    inputs: &SessionInputs,
    endpoint: &Endpoint,
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
