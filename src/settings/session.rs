//! Validation of the CreateSession inputs a user types: the three ARNs together, region,
//! session duration and role session name. Each failure names the flag and what a valid value
//! looks like.

use super::arn::{
    Arn, PROFILE, ROLE, TRUST_ANCHOR, is_region_name, parse_arn, partition_of_region,
    region_example,
};
use crate::error::{Error, Result};

/// Validated CreateSession inputs and the region to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInputs {
    /// `--trust-anchor-arn`, parsed.
    pub trust_anchor: Arn,
    /// `--profile-arn`, parsed.
    pub profile: Arn,
    /// `--role-arn`, parsed.
    pub role: Arn,
    /// The region to call.
    pub region: String,
    /// `--session-duration`.
    pub duration_seconds: u32,
    /// `--role-session-name`.
    pub role_session_name: Option<String>,
    /// `--trust-anchor-arn` as given.
    pub trust_anchor_arn: String,
    /// `--profile-arn` as given.
    pub profile_arn: String,
    /// `--role-arn` as given.
    pub role_arn: String,
    /// The role chained into after CreateSession (`--assume-role-arn`), checked.
    pub chain: Option<super::chain::RoleChain>,
}

/// Checks every request input and works out the region (`--region`, else the trust anchor's).
pub fn validate(
    trust_anchor_arn: &str,
    profile_arn: &str,
    role_arn: &str,
    region: Option<&str>,
    duration_seconds: i64,
    role_session_name: Option<&str>,
) -> Result<SessionInputs> {
    let trust_anchor = parse_arn(&TRUST_ANCHOR, trust_anchor_arn)?;
    let profile = parse_arn(&PROFILE, profile_arn)?;
    let role = parse_arn(&ROLE, role_arn)?;
    if profile.region != trust_anchor.region {
        return Err(Error::invalid_argument(
            "--profile-arn",
            format!(
                "the profile is in region {} but the trust anchor is in {}; both must be in the same region",
                profile.region, trust_anchor.region
            ),
        ));
    }
    for (flag, arn) in [("--profile-arn", &profile), ("--role-arn", &role)] {
        if arn.partition != trust_anchor.partition {
            return Err(Error::invalid_argument(
                flag,
                format!(
                    "partition '{}' differs from the trust anchor's '{}'",
                    arn.partition, trust_anchor.partition
                ),
            ));
        }
    }
    let region = match region {
        Some(r) if !r.is_empty() => {
            if !is_region_name(r) {
                return Err(Error::invalid_argument(
                    "--region",
                    format!(
                        "'{r}' is not a region name; give one like {}",
                        region_example(&trust_anchor.partition)
                    ),
                ));
            }
            r.to_string()
        }
        _ => trust_anchor.region.clone(),
    };
    // The region decides the endpoint and the signing scope: a region of another partition would
    // send the request to the wrong AWS (an `arn:aws-cn:` trust anchor to the commercial one).
    let region_partition = partition_of_region(&region);
    if region_partition != trust_anchor.partition {
        let flag = if region == trust_anchor.region {
            "--trust-anchor-arn"
        } else {
            "--region"
        };
        return Err(Error::invalid_argument(
            flag,
            format!(
                "region {region} is in partition '{region_partition}' but the ARNs are in '{}'; give a region of that partition",
                trust_anchor.partition
            ),
        ));
    }
    // Trust anchors and profiles are regional: CreateSession in another region finds neither, and
    // fails with a 403 that says nothing of the region.
    if region != trust_anchor.region {
        return Err(Error::invalid_argument(
            "--region",
            format!(
                "{region} differs from the region of the trust anchor and profile ARNs, {}; leave --region out or give {}",
                trust_anchor.region, trust_anchor.region
            ),
        ));
    }
    if !(900..=43200).contains(&duration_seconds) {
        return Err(Error::invalid_argument(
            "--session-duration",
            format!(
                "{duration_seconds} is out of range; give 900 to 43200 seconds (15 minutes to 12 hours)"
            ),
        ));
    }
    if let Some(name) = role_session_name {
        validate_role_session_name(name)?;
    }
    Ok(SessionInputs {
        trust_anchor,
        profile,
        role,
        region,
        duration_seconds: duration_seconds as u32,
        role_session_name: role_session_name.map(str::to_string),
        trust_anchor_arn: trust_anchor_arn.to_string(),
        profile_arn: profile_arn.to_string(),
        role_arn: role_arn.to_string(),
        chain: None,
    })
}

/// A role session name is 2 to 64 characters of `[A-Za-z0-9_+=,.@-]`.
pub fn validate_role_session_name(name: &str) -> Result<()> {
    super::chain::check_session_name("--role-session-name", name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::arn::{KNOWN_REGIONS, is_known_region};

    const TA: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/a1b2";
    const PR: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/c3d4";
    const RO: &str = "arn:aws:iam::123456789012:role/edge";

    #[test]
    fn accepts_valid_inputs_and_takes_region_from_trust_anchor() {
        let inputs = validate(TA, PR, RO, None, 3600, Some("host-1@site")).unwrap();
        assert_eq!(inputs.region, "us-east-1");
        assert_eq!(
            validate(TA, PR, RO, Some("us-east-1"), 900, None)
                .unwrap()
                .region,
            "us-east-1"
        );
        let (ta, pr) = (
            TA.replace("us-east-1", "eu-west-1"),
            PR.replace("us-east-1", "eu-west-1"),
        );
        assert_eq!(
            validate(&ta, &pr, RO, Some("eu-west-1"), 900, None)
                .unwrap()
                .region,
            "eu-west-1"
        );
    }

    #[test]
    fn rejects_bad_arns_with_the_flag_named() {
        let cases = [
            (RO, PR, RO, "--trust-anchor-arn"),
            (
                TA,
                "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x",
                RO,
                "--profile-arn",
            ),
            (TA, PR, "arn:aws:iam::12345:role/x", "--role-arn"),
            (TA, PR, "role/x", "--role-arn"),
            (TA, PR, "arn:aws:sts::123456789012:role/x", "--role-arn"),
            (
                TA,
                "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/x",
                RO,
                "--profile-arn",
            ),
            (TA, PR, "arn:aws-cn:iam::123456789012:role/x", "--role-arn"),
            (
                &format!("{TA}{}", "x".repeat(100_000)),
                PR,
                RO,
                "--trust-anchor-arn",
            ),
            (TA, PR, &format!("{RO}{}", "x".repeat(3000)), "--role-arn"),
            (
                "arn:aws-cn:rolesanywhere:us-east-1:123456789012:trust-anchor/a",
                "arn:aws-cn:rolesanywhere:us-east-1:123456789012:profile/b",
                "arn:aws-cn:iam::123456789012:role/x",
                "--trust-anchor-arn",
            ),
        ];
        for (ta, pr, ro, flag) in cases {
            let err = validate(ta, pr, ro, None, 3600, None).unwrap_err();
            assert!(err.to_string().starts_with(flag), "{ta} {pr} {ro}: {err}");
            assert!(
                err.to_string().len() < 400,
                "the value is not echoed: {err}"
            );
            assert_eq!(err.exit_code(), 2);
        }
    }

    #[test]
    fn the_region_must_be_in_the_partition_of_the_arns() {
        let cn = |arn: &str| arn.replacen("arn:aws:", "arn:aws-cn:", 1);
        let (ta, pr, ro) = (
            cn(TA).replace("us-east-1", "cn-north-1"),
            cn(PR).replace("us-east-1", "cn-north-1"),
            cn(RO),
        );
        assert_eq!(
            validate(&ta, &pr, &ro, None, 3600, None).unwrap().region,
            "cn-north-1"
        );
        let err = validate(&ta, &pr, &ro, Some("us-east-1"), 3600, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--region: region us-east-1 is in partition 'aws'"),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2);
        assert!(validate(TA, PR, RO, Some("cn-north-1"), 3600, None).is_err());
        // Another region of the same partition is refused too: the ARNs are regional.
        let err = validate(TA, PR, RO, Some("us-west-2"), 3600, None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn a_region_other_than_the_arns_is_refused_naming_both() {
        let err = validate(TA, PR, RO, Some("us-west-2"), 3600, None).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("--region: us-west-2 differs"),
            "{message}"
        );
        assert!(message.contains("us-east-1"), "{message}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn region_typos_are_refused_and_well_formed_future_regions_accepted() {
        for typo in [
            "us-east1",
            "useast-1",
            "us-wset-2",
            "us-east-01",
            "us-east-",
            "us_east_1",
            "US-EAST-1",
            "us-east-1-",
            "cn-nrth-1",
            "us-gov-west1",
            "eusc-east-1",
            "use-east-1",
        ] {
            assert!(!is_region_name(typo), "{typo}");
            let err = validate(TA, PR, RO, Some(typo), 3600, None).unwrap_err();
            assert!(err.to_string().starts_with("--region: "), "{typo}: {err}");
            let ta = TA.replace("us-east-1", typo);
            let err = validate(&ta, PR, RO, None, 3600, None).unwrap_err();
            assert!(
                err.to_string().starts_with("--trust-anchor-arn: "),
                "{typo}: {err}"
            );
        }
        for (_, regions) in KNOWN_REGIONS {
            for region in *regions {
                assert!(is_region_name(region), "{region}");
                assert!(is_known_region(region), "{region}");
            }
        }
        for future in ["us-central-1", "xx-east-1", "cn-south-1", "ap-southeast-12"] {
            assert!(is_region_name(future), "{future}");
            assert!(!is_known_region(future), "{future}");
        }
    }

    #[test]
    fn bounds_duration_and_session_name() {
        assert!(validate(TA, PR, RO, None, 899, None).is_err());
        assert!(validate(TA, PR, RO, None, 43201, None).is_err());
        assert!(validate(TA, PR, RO, None, 43200, None).is_ok());
        assert!(validate_role_session_name("a").is_err());
        assert!(validate_role_session_name(&"a".repeat(65)).is_err());
        assert!(validate_role_session_name("has space").is_err());
        assert!(validate_role_session_name(&"a".repeat(64)).is_ok());
    }
}
