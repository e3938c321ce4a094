//! The role-chaining flags of every command that fetches credentials: `sts:AssumeRole` after
//! CreateSession, and the STS endpoint.

// clap turns doc comments into help text: the argument structs deliberately have none.
#![allow(missing_docs)]

use clap::Args;

/// The help heading of these flags (set on each: a struct-wide heading would carry over to the
/// flags of the command that follow them).
const HEADING: &str = "Role chaining (sts:AssumeRole after CreateSession)";

#[derive(Debug, Args, Clone, Default)]
pub struct ChainArgs {
    /// Chain into this role: sts:AssumeRole with the CreateSession credentials, and hand out the
    /// chained ones
    ///
    /// After CreateSession, call sts:AssumeRole for this role (arn:aws:iam::ACCOUNT:role/NAME, in
    /// the trust anchor's partition, any account) with the credentials CreateSession returned, and
    /// hand out the chained credentials instead, in every output (credential-process, export, exec,
    /// serve's IMDS and container endpoints, update's file). The role's trust policy must allow the
    /// Roles Anywhere role (sts:AssumeRole, and sts:TagSession with --session-tag). serve and update
    /// refresh the chain before it expires, reusing the CreateSession credentials while they are
    /// valid. An STS refusal is one line naming the role and STS's error code (exit 4).
    #[arg(long, help_heading = HEADING, value_name = "ARN")]
    pub assume_role_arn: Option<String>,
    /// External ID the role's trust policy asks for (sts:ExternalId)
    ///
    /// The external ID of the AssumeRole call (2 to 1224 of [A-Za-z0-9_+=,.@:/-]), when the role's
    /// trust policy has an sts:ExternalId condition, as cross-account roles often do.
    #[arg(long, help_heading = HEADING, value_name = "ID")]
    pub external_id: Option<String>,
    /// Session name of the chained role (default: the certificate's CN, valid characters only)
    ///
    /// The RoleSessionName of the AssumeRole call: 2 to 64 of [A-Za-z0-9_+=,.@-]. Default: the
    /// certificate's common name with each other character replaced by '-', cut to 64 (the serial
    /// number when there is no CN). It ends the assumed-role ARN and is in CloudTrail.
    #[arg(long, help_heading = HEADING, value_name = "NAME")]
    pub assume_role_session_name: Option<String>,
    /// Session tag KEY=VALUE of the chained session (repeat, or separate with commas)
    ///
    /// A session tag of the AssumeRole call, KEY=VALUE (split at the first '='; keys 1 to 128,
    /// values up to 256 of letters, digits, spaces and _.:/=+-@; no aws: prefix; at most 50, keys
    /// unique regardless of case). Repeat the flag or separate tags with commas. The role's trust
    /// policy must allow sts:TagSession. From a profile (rolesanywhere_session_tags) and the command
    /// line, the tags add up.
    #[arg(long, help_heading = HEADING, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub session_tag: Vec<String>,
    /// Tag key that stays with later role chains (must name a --session-tag; repeatable)
    ///
    /// A transitive tag key of the AssumeRole call: the tag stays with any role chained from the
    /// chained session. Each must be the key of a --session-tag. Repeat or separate with commas.
    #[arg(long, help_heading = HEADING, value_name = "KEY", value_delimiter = ',')]
    pub transitive_tag_key: Vec<String>,
    /// Duration of the chained session in seconds (900 to 3600; STS caps chained sessions at one
    /// hour)
    ///
    /// Duration of the chained session, 900 to 3600 seconds (default 3600). STS limits a role chain
    /// to one hour whatever the role's maximum session duration, so more is refused here rather than
    /// cut short by STS.
    #[arg(long, help_heading = HEADING, value_name = "SECONDS", allow_negative_numbers = true)]
    pub assume_role_duration: Option<i64>,
    /// The STS endpoint (default: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the region's)
    ///
    /// The STS endpoint that sts:AssumeRole (--assume-role-arn) and doctor's identity check
    /// (sts:GetCallerIdentity) call. Default: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the
    /// regional endpoint (https://sts.REGION.amazonaws.com, FIPS and dual-stack as
    /// AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT say). A URL without a scheme gets
    /// https://.
    #[arg(long, help_heading = HEADING, value_name = "URL")]
    pub sts_endpoint: Option<String>,
}
