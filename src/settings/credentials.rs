//! Everything a credential-fetching command was asked for, typed: the identity, the request,
//! the endpoint, the HTTP client and the cache.

use std::path::PathBuf;

use super::client::ClientOptions;
use super::identity::IdentitySpec;

/// The session duration when none is given, in seconds.
pub const DEFAULT_SESSION_DURATION: i64 = 3600;

/// The CreateSession request as typed; [`super::session::validate`] checks it.
#[derive(Debug, Clone)]
pub struct RequestSettings {
    /// `--trust-anchor-arn`.
    pub trust_anchor_arn: String,
    /// `--profile-arn`.
    pub profile_arn: String,
    /// `--role-arn`.
    pub role_arn: String,
    /// `--region`, else the trust anchor's.
    pub region: Option<String>,
    /// `--session-duration`, in seconds, unchecked.
    pub session_duration: i64,
    /// `--role-session-name`.
    pub role_session_name: Option<String>,
    /// Role chaining after CreateSession (`--assume-role-arn`, …), as typed.
    pub chain: super::chain::ChainSettings,
}

impl Default for RequestSettings {
    fn default() -> Self {
        RequestSettings {
            trust_anchor_arn: String::new(),
            profile_arn: String::new(),
            role_arn: String::new(),
            region: None,
            session_duration: DEFAULT_SESSION_DURATION,
            role_session_name: None,
            chain: super::chain::ChainSettings::default(),
        }
    }
}

impl RequestSettings {
    /// The request and the role chain, checked: every failure names its flag.
    pub fn validate(&self) -> crate::Result<super::session::SessionInputs> {
        let mut inputs = super::session::validate(
            &self.trust_anchor_arn,
            &self.profile_arn,
            &self.role_arn,
            self.region.as_deref(),
            self.session_duration,
            self.role_session_name.as_deref(),
        )?;
        inputs.chain = self.chain.validate(&inputs.trust_anchor.partition)?;
        Ok(inputs)
    }
}

/// Whether and where to keep credentials between runs.
#[derive(Debug, Clone, Default)]
pub struct CacheSettings {
    /// `--cache`, else `ROLESANYWHERE_HELPER_CACHE`.
    pub enabled: bool,
    /// `--cache-dir`; the default directory when absent.
    pub directory: Option<PathBuf>,
}

/// The settings of every command that fetches credentials.
pub struct CredentialSettings {
    /// Where the certificate and key come from.
    pub identity: IdentitySpec,
    /// What to ask CreateSession for.
    pub request: RequestSettings,
    /// `--endpoint`; wins over `AWS_ENDPOINT_URL_ROLESANYWHERE`.
    pub endpoint: Option<String>,
    /// TLS and retries.
    pub client: ClientOptions,
    /// The cross-process cache.
    pub cache: CacheSettings,
}
