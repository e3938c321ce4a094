//! The CreateSession credentials a role chain is refreshed from: kept between refreshes and
//! reused while they are valid, so refreshing a chain costs one AssumeRole, not a CreateSession
//! and an AssumeRole.

use time::{Duration, OffsetDateTime};

use crate::credentials::Credentials;
use crate::error::{Error, Result};

/// Source credentials are reused while at least this much of their life is left: time for
/// AssumeRole with its retries, and a margin for the clock.
pub(crate) const MINIMUM_SOURCE_LIFE: Duration = Duration::minutes(5);

/// The CreateSession credentials of the last refresh, if still worth using (zeroized on drop).
#[derive(Default)]
pub(crate) struct KeptSource {
    kept: Option<Credentials>,
}

impl KeptSource {
    /// The kept credentials while they have [`MINIMUM_SOURCE_LIFE`] left, else `create`'s (kept).
    pub(crate) fn get(
        &mut self,
        now: OffsetDateTime,
        create: impl FnOnce() -> Result<Credentials>,
    ) -> Result<Credentials> {
        if let Some(kept) = &self.kept
            && kept.expiration - now >= MINIMUM_SOURCE_LIFE
        {
            tracing::debug!(
                access_key_id = %kept.access_key_id,
                "chaining from the kept CreateSession credentials"
            );
            return Ok(kept.clone());
        }
        self.kept = None;
        let created = create()?;
        self.kept = Some(created.clone());
        Ok(created)
    }

    /// Forgets the kept credentials when STS says they are no good (expired early, revoked):
    /// the next refresh makes a new CreateSession rather than failing the same way.
    pub(crate) fn forget_if_refused(&mut self, error: &Error) {
        if let Error::AssumeRoleDenied { error, .. } = error
            && matches!(
                error.error_type.as_str(),
                "ExpiredToken" | "ExpiredTokenException" | "InvalidClientTokenId"
            )
        {
            self.kept = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServiceError;

    fn credentials(expiration: OffsetDateTime) -> Credentials {
        Credentials {
            access_key_id: "ASIAKEPT".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expiration,
        }
    }

    #[test]
    fn reuses_the_source_while_it_is_valid_and_creates_again_after() {
        let now = OffsetDateTime::now_utc();
        let mut kept = KeptSource::default();
        let created = std::cell::Cell::new(0);
        let create = |life: Duration| {
            created.set(created.get() + 1);
            Ok(credentials(now + life))
        };
        kept.get(now, || create(Duration::hours(1))).unwrap();
        kept.get(now + Duration::minutes(30), || create(Duration::hours(1)))
            .unwrap();
        assert_eq!(created.get(), 1, "reused while valid");
        // Less than five minutes left: a new CreateSession.
        kept.get(now + Duration::minutes(56), || create(Duration::hours(2)))
            .unwrap();
        assert_eq!(created.get(), 2);
        // A refusal of the kept credentials forgets them; others do not.
        let refusal = |code: &str| Error::AssumeRoleDenied {
            role_arn: "arn:aws:iam::210987654321:role/x".into(),
            error: Box::new(ServiceError {
                status: 403,
                error_type: code.into(),
                message: String::new(),
                request_id: None,
            }),
            explanation: String::new(),
        };
        kept.forget_if_refused(&refusal("AccessDenied"));
        kept.get(now, || create(Duration::hours(1))).unwrap();
        assert_eq!(created.get(), 2);
        kept.forget_if_refused(&refusal("ExpiredToken"));
        kept.get(now, || create(Duration::hours(1))).unwrap();
        assert_eq!(created.get(), 3);
        assert!(
            kept.get(now + Duration::hours(3), || Err(Error::Unavailable(
                "503".into()
            )))
            .is_err()
        );
    }
}
