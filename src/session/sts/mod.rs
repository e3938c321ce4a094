//! STS with the credentials a session yielded: `GetCallerIdentity` and `AssumeRole` (role
//! chaining), signed with SigV4 by `aws-sigv4`, sent over the same rustls configuration as
//! CreateSession (`AWS_CA_BUNDLE`, `--no-verify-ssl`), to the regional STS endpoint or the one
//! the user names (`--sts-endpoint`, `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`).

mod answers;
pub mod assume_role;
mod endpoint;
mod sign;

use std::time::{Instant, SystemTime};

use serde::Serialize;

use super::answer::{Credentials, SecretBytes};
use crate::error::{Error, Result};
use crate::settings::client::ClientOptions;
use crate::settings::endpoint::Endpoint;
pub use answers::{
    AssumedRoleUser, explain, explain_assume_role, parse_assume_role, parse_caller_identity,
    service_error,
};
pub use endpoint::{StsEnv, resolve_endpoint, sts_env_from_process};
use sign::sign;

/// The STS API version of every query action.
const VERSION: &str = "2011-06-15";

/// Who the credentials are, as STS says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    /// The account ID.
    pub account: String,
    /// The ARN (for Roles Anywhere, `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    pub arn: String,
    /// The unique ID (`AROA…:SESSION` for a role session).
    pub user_id: String,
}

/// The largest STS answer read (the same bound as CreateSession's).
const MAX_BODY: usize = super::MAX_ANSWER_BODY;

/// An STS client bound to one endpoint and region.
pub struct StsClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    region: String,
    retry: crate::settings::client::RetryPolicy,
}

impl StsClient {
    /// A client for `endpoint`, signing for `region`, over the TLS settings of `options`.
    pub fn new(endpoint: Endpoint, region: &str, options: &ClientOptions) -> Result<StsClient> {
        let tls = super::tls::client_config(options.no_verify_ssl, options.ca_bundle.as_deref())?;
        let http = super::tls::http_client(tls, &endpoint, &options.retry)?;
        Ok(StsClient {
            http,
            endpoint,
            region: region.to_string(),
            retry: options.retry,
        })
    }

    /// The endpoint it calls.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `sts:GetCallerIdentity` with `credentials`.
    pub async fn get_caller_identity(&self, credentials: &Credentials) -> Result<CallerIdentity> {
        let body = self.call("GetCallerIdentity", &[], credentials).await?;
        parse_caller_identity(&body)
    }

    /// One STS query action, retried on throttling, 5xx and transport failures (each attempt
    /// signed afresh) within the retry policy's deadline. The answer body on success.
    async fn call(
        &self,
        action: &'static str,
        params: &[(&str, &str)],
        credentials: &Credentials,
    ) -> Result<SecretBytes> {
        let started = Instant::now();
        match tokio::time::timeout(
            self.retry.deadline,
            self.attempts(action, params, credentials),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(Error::Unavailable(format!(
                "sts:{action}: no answer from {} within {}s; check --sts-endpoint and the network, or try again",
                self.endpoint.url,
                started.elapsed().as_secs()
            ))),
        }
    }

    async fn attempts(
        &self,
        action: &'static str,
        params: &[(&str, &str)],
        credentials: &Credentials,
    ) -> Result<SecretBytes> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", VERSION);
        for (name, value) in params {
            form.append_pair(name, value);
        }
        let body = form.finish();
        let mut last_problem = String::new();
        for attempt in 1..=self.retry.max_attempts {
            if attempt > 1 {
                super::wait_before_retry(&self.retry, attempt, &format!("sts:{action}")).await;
            }
            match self.attempt(action, &body, credentials).await? {
                Ok(answer) => return Ok(answer),
                Err(problem) => last_problem = problem,
            }
        }
        Err(Error::Unavailable(format!(
            "sts:{action} failed after {} attempts: {last_problem}",
            self.retry.max_attempts
        )))
    }

    /// One signed request: the answer, a problem worth retrying, or a refusal.
    async fn attempt(
        &self,
        action: &'static str,
        body: &str,
        credentials: &Credentials,
    ) -> Result<std::result::Result<SecretBytes, String>> {
        const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = sign(
            &self.endpoint,
            &self.region,
            body.as_bytes(),
            CONTENT_TYPE,
            credentials,
            SystemTime::now(),
        )?;
        let mut request = self
            .http
            .post(self.endpoint.url.clone())
            .header("content-type", CONTENT_TYPE);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let sent = Instant::now();
        let response = match request.body(body.to_string()).send().await {
            Ok(response) => response,
            Err(e) => {
                let problem = super::describe_transport_error(&e, &self.endpoint.url);
                tracing::debug!(elapsed_ms = sent.elapsed().as_millis() as u64, "{problem}");
                return Ok(Err(problem));
            }
        };
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match super::read_bounded(response, &self.endpoint.url).await {
            Ok(Ok(body)) => body,
            Ok(Err(problem)) => return Ok(Err(problem)),
            Err(_) => {
                return Err(Error::Unavailable(format!(
                    "sts:{action}: {} sent an answer larger than {} KiB; check --sts-endpoint",
                    self.endpoint.url,
                    MAX_BODY / 1024
                )));
            }
        };
        tracing::debug!(status, elapsed_ms = sent.elapsed().as_millis() as u64, request_id = ?request_id, "sts:{action} answered");
        if (200..300).contains(&status) {
            return Ok(Ok(body));
        }
        let error = service_error(status, &body, request_id);
        if status == 429 || status >= 500 || error.error_type.contains("Throttling") {
            return Ok(Err(error.to_string()));
        }
        let explanation = explain(&error.error_type).to_string();
        Err(Error::StsDenied {
            action,
            error,
            explanation,
        })
    }
}
