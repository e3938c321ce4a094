//! How the HTTPS client behaves: certificate checks, extra trusted CAs and retries.

use std::time::Duration;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The cap of the first retry's wait (full jitter below it).
    pub base_delay: Duration,
    /// The largest cap.
    pub max_delay: Duration,
    /// How long one attempt may take.
    pub attempt_timeout: Duration,
    /// How long all attempts together may take.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): full jitter over an exponential cap.
    pub fn backoff(&self, retry: u32, random_fraction: f64) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        cap.mul_f64(random_fraction.clamp(0.0, 1.0))
    }
}

/// Options that shape the HTTP client.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `--no-verify-ssl`: do not verify the endpoint's certificate.
    pub no_verify_ssl: bool,
    /// `AWS_CA_BUNDLE`: extra trusted CAs.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// How hard to try.
    pub retry: RetryPolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1, 1.0), Duration::from_millis(400));
        assert_eq!(policy.backoff(2, 1.0), Duration::from_millis(800));
        assert_eq!(policy.backoff(10, 1.0), Duration::from_secs(5));
        assert_eq!(policy.backoff(1, 0.0), Duration::ZERO);
    }
}
