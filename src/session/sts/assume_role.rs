//! Role chaining: `sts:AssumeRole` with the credentials CreateSession returned, for the role,
//! external ID, session name, session tags, transitive tag keys and duration the user asked for.

use super::StsClient;
use super::answers::{AssumedRoleUser, explain_assume_role, parse_assume_role};
use crate::error::{Error, Result};
use crate::session::answer::Credentials;
use crate::session::prepared::Prepared;
use crate::settings::chain::{RoleChain, session_name_from};
use crate::settings::client::ClientOptions;

/// The AssumeRole parameters of `chain` (the query protocol's names), with `session_name`.
pub fn parameters(chain: &RoleChain, session_name: &str) -> Vec<(String, String)> {
    let mut params = vec![
        ("RoleArn".to_string(), chain.role_arn.clone()),
        ("RoleSessionName".to_string(), session_name.to_string()),
        (
            "DurationSeconds".to_string(),
            chain.duration_seconds.to_string(),
        ),
    ];
    if let Some(external_id) = &chain.external_id {
        params.push(("ExternalId".to_string(), external_id.clone()));
    }
    for (n, tag) in chain.tags.iter().enumerate() {
        params.push((format!("Tags.member.{}.Key", n + 1), tag.key.clone()));
        params.push((format!("Tags.member.{}.Value", n + 1), tag.value.clone()));
    }
    for (n, key) in chain.transitive_tag_keys.iter().enumerate() {
        params.push((format!("TransitiveTagKeys.member.{}", n + 1), key.clone()));
    }
    params
}

impl StsClient {
    /// `sts:AssumeRole` into `chain`'s role with `credentials`; a refusal names the role.
    pub async fn assume_role(
        &self,
        chain: &RoleChain,
        session_name: &str,
        credentials: &Credentials,
    ) -> Result<(Credentials, AssumedRoleUser)> {
        let params = parameters(chain, session_name);
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        match self.call("AssumeRole", &params, credentials).await {
            Ok(body) => parse_assume_role(&body),
            Err(Error::StsDenied { error, .. }) => Err(Error::AssumeRoleDenied {
                role_arn: chain.role_arn.clone(),
                explanation: explain_assume_role(&error.error_type).to_string(),
                error: Box::new(error),
            }),
            Err(other) => Err(other),
        }
    }
}

impl Prepared {
    /// The chained session's name: `--assume-role-session-name`, else the certificate's.
    pub fn chained_session_name(&self, chain: &RoleChain) -> String {
        chain.session_name.clone().unwrap_or_else(|| {
            session_name_from(
                self.identity.leaf.common_name.as_deref(),
                &self.identity.leaf.serial_decimal,
            )
        })
    }

    /// Chains from `source` (this session's CreateSession credentials) into the role of
    /// `--assume-role-arn`; without one, `source` itself.
    pub fn chain(&self, options: &ClientOptions, source: Credentials) -> Result<Credentials> {
        let (Some(chain), Some(endpoint)) = (&self.inputs.chain, &self.sts_endpoint) else {
            return Ok(source);
        };
        let session_name = self.chained_session_name(chain);
        let client = StsClient::new(endpoint.clone(), &self.inputs.region, options)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
        let (credentials, user) =
            runtime.block_on(client.assume_role(chain, &session_name, &source))?;
        // The audit line: which session chained into which role, never a secret.
        tracing::info!(
            role = %chain.role_arn,
            assumed_role = %user.arn,
            source_access_key_id = %source.access_key_id,
            access_key_id = %credentials.access_key_id,
            expiration = %crate::support::timestamp::iso8601(credentials.expiration),
            "AssumeRole succeeded"
        );
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::chain::SessionTag;

    #[test]
    fn every_chaining_input_becomes_its_query_parameter() {
        let chain = RoleChain {
            role_arn: "arn:aws:iam::210987654321:role/target".into(),
            account: "210987654321".into(),
            external_id: Some("ext".into()),
            session_name: None,
            tags: vec![
                SessionTag {
                    key: "team".into(),
                    value: "edge".into(),
                },
                SessionTag {
                    key: "site".into(),
                    value: String::new(),
                },
            ],
            transitive_tag_keys: vec!["team".into()],
            duration_seconds: 900,
        };
        let params = parameters(&chain, "device-1");
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            get("RoleArn"),
            Some("arn:aws:iam::210987654321:role/target")
        );
        assert_eq!(get("RoleSessionName"), Some("device-1"));
        assert_eq!(get("DurationSeconds"), Some("900"));
        assert_eq!(get("ExternalId"), Some("ext"));
        assert_eq!(get("Tags.member.1.Key"), Some("team"));
        assert_eq!(get("Tags.member.2.Value"), Some(""));
        assert_eq!(get("TransitiveTagKeys.member.1"), Some("team"));
        assert_eq!(get("TransitiveTagKeys.member.2"), None);
    }
}
