//! Validation of the request inputs a user types: ARNs, region, session duration and role
//! session name. Each failure names the flag and what a valid value looks like.

use crate::error::{Error, Result};

/// The partitions AWS has, each a prefix of its region names.
pub const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// The longest ARN accepted: IAM and Roles Anywhere ARNs are at most 2048 characters.
pub const MAX_ARN_LENGTH: usize = 2048;

/// A parsed ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// `aws`, `aws-cn`, …
    pub partition: String,
    /// The service (`rolesanywhere`, `iam`).
    pub service: String,
    /// The region (empty for IAM).
    pub region: String,
    /// The account ID.
    pub account: String,
    /// The resource (`trust-anchor/…`, `role/…`).
    pub resource: String,
}

/// What a flag's ARN must be.
struct ArnKind {
    flag: &'static str,
    service: &'static str,
    resource_prefix: &'static str,
    example: &'static str,
    regional: bool,
}

const TRUST_ANCHOR: ArnKind = ArnKind {
    flag: "--trust-anchor-arn",
    service: "rolesanywhere",
    resource_prefix: "trust-anchor/",
    example: "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/<id>",
    regional: true,
};
const PROFILE: ArnKind = ArnKind {
    flag: "--profile-arn",
    service: "rolesanywhere",
    resource_prefix: "profile/",
    example: "arn:aws:rolesanywhere:us-east-1:123456789012:profile/<id>",
    regional: true,
};
const ROLE: ArnKind = ArnKind {
    flag: "--role-arn",
    service: "iam",
    resource_prefix: "role/",
    example: "arn:aws:iam::123456789012:role/<name>",
    regional: false,
};

/// An IAM role ARN given with `flag` (`--assume-role-arn`), parsed as `--role-arn` is.
pub fn parse_role_arn(flag: &'static str, value: &str) -> Result<Arn> {
    parse_arn(&ArnKind { flag, ..ROLE }, value)
}

fn parse_arn(kind: &ArnKind, value: &str) -> Result<Arn> {
    let bad = |why: String| {
        Error::invalid_argument(
            kind.flag,
            format!("{why}; expected an ARN like {}", kind.example),
        )
    };
    if value.is_empty() {
        return Err(Error::invalid_argument(
            kind.flag,
            format!("is required; give an ARN like {}", kind.example),
        ));
    }
    // Checked first, so a 100,000-character value is neither echoed nor sent anywhere.
    let length = value.chars().count();
    if length > MAX_ARN_LENGTH {
        return Err(bad(format!(
            "is {length} characters long; an ARN has at most {MAX_ARN_LENGTH}"
        )));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(bad(format!("'{value}' is not an ARN")));
    }
    let arn = Arn {
        partition: parts[1].to_string(),
        service: parts[2].to_string(),
        region: parts[3].to_string(),
        account: parts[4].to_string(),
        resource: parts[5].to_string(),
    };
    if !PARTITIONS.contains(&arn.partition.as_str()) {
        return Err(bad(format!("unknown partition '{}'", arn.partition)));
    }
    if arn.service != kind.service {
        return Err(bad(format!(
            "is an ARN of service '{}', not '{}'",
            arn.service, kind.service
        )));
    }
    if kind.regional && !is_region_name(&arn.region) {
        return Err(bad(format!(
            "region '{}' is not a region name of partition '{}' (like {})",
            arn.region,
            arn.partition,
            region_example(&arn.partition)
        )));
    }
    if !kind.regional && !arn.region.is_empty() {
        return Err(bad(format!(
            "an IAM ARN has no region, found '{}'",
            arn.region
        )));
    }
    if arn.account.len() != 12 || !arn.account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!(
            "account '{}' is not a 12-digit account ID",
            arn.account
        )));
    }
    let Some(name) = arn.resource.strip_prefix(kind.resource_prefix) else {
        return Err(bad(format!(
            "resource '{}' does not start with '{}'",
            arn.resource, kind.resource_prefix
        )));
    };
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(format!(
            "resource name '{name}' is empty or has white space"
        )));
    }
    Ok(arn)
}

/// The regions of each partition known to this release (a region AWS opens later is accepted
/// with a warning, if it has the shape of its partition's names).
pub const KNOWN_REGIONS: &[(&str, &[&str])] = &[
    (
        "aws",
        &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    ),
    ("aws-cn", &["cn-north-1", "cn-northwest-1"]),
    ("aws-us-gov", &["us-gov-east-1", "us-gov-west-1"]),
    ("aws-iso", &["us-iso-east-1", "us-iso-west-1"]),
    ("aws-iso-b", &["us-isob-east-1", "us-isob-west-1"]),
    ("aws-iso-e", &["eu-isoe-west-1"]),
    ("aws-iso-f", &["us-isof-east-1", "us-isof-south-1"]),
    ("aws-eusc", &["eusc-de-east-1"]),
];

/// The compass words every AWS region name uses between its area and its number.
const DIRECTIONS: &[&str] = &[
    "east",
    "west",
    "north",
    "south",
    "central",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
];

/// Whether `region` is one of [`KNOWN_REGIONS`].
pub fn is_known_region(region: &str) -> bool {
    KNOWN_REGIONS
        .iter()
        .any(|(_, regions)| regions.contains(&region))
}

/// Whether `region` has the shape of a region name of its partition: `<area>-<direction>-<n>`
/// (`us-east-1`, `ap-southeast-7`) after the partition's prefix (`cn-`, `us-gov-`, `us-isob-`,
/// `eusc-<area>-`, …). A known region has it; so has a region AWS opens later; a typo such as
/// `us-east1`, `useast-1` or `us-wset-2` has not.
pub fn is_region_name(region: &str) -> bool {
    if region.is_empty() || region.len() > 32 {
        return false;
    }
    let (prefix, area) = match partition_of_region(region) {
        "aws-cn" => ("cn-", false),
        "aws-us-gov" => ("us-gov-", false),
        "aws-iso-b" => ("us-isob-", false),
        "aws-iso-f" => ("us-isof-", false),
        "aws-iso" => ("us-iso-", false),
        "aws-iso-e" => ("eu-isoe-", false),
        "aws-eusc" => ("eusc-", true),
        _ => ("", true),
    };
    let Some(rest) = region.strip_prefix(prefix) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    let (area_part, direction, number) = match (area, parts.as_slice()) {
        (true, [a, d, n]) => (Some(*a), *d, *n),
        (false, [d, n]) => (None, *d, *n),
        _ => return false,
    };
    area_part.is_none_or(|a| a.len() == 2 && a.bytes().all(|b| b.is_ascii_lowercase()))
        && DIRECTIONS.contains(&direction)
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0')
}

/// The first known region of `partition`, to show what a region name looks like.
fn region_example(partition: &str) -> &'static str {
    KNOWN_REGIONS
        .iter()
        .find(|(p, _)| *p == partition)
        .and_then(|(p, regions)| match *p {
            "aws" => Some("us-east-1"),
            _ => regions.first().copied(),
        })
        .unwrap_or("us-east-1")
}

/// The partition a region belongs to.
pub fn partition_of_region(region: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map(|(_, p)| *p)
        .unwrap_or("aws")
}

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
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if !(2..=64).contains(&name.len()) || !valid_chars {
        // A value far too long is not echoed.
        let shown = if name.chars().count() > 64 {
            format!("a name of {} characters", name.chars().count())
        } else {
            format!("'{name}'")
        };
        return Err(Error::invalid_argument(
            "--role-session-name",
            format!("{shown} is invalid; use 2 to 64 characters of letters, digits and _+=,.@-"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn maps_regions_to_partitions() {
        assert_eq!(partition_of_region("us-east-1"), "aws");
        assert_eq!(partition_of_region("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_of_region("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition_of_region("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(partition_of_region("us-isof-south-1"), "aws-iso-f");
    }
}
