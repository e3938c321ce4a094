//! ARNs and region names as a user types them: parsed, checked against their partition, each
//! failure naming the flag and what a valid value looks like.

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
pub(crate) struct ArnKind {
    flag: &'static str,
    service: &'static str,
    resource_prefix: &'static str,
    example: &'static str,
    regional: bool,
}

pub(crate) const TRUST_ANCHOR: ArnKind = ArnKind {
    flag: "--trust-anchor-arn",
    service: "rolesanywhere",
    resource_prefix: "trust-anchor/",
    example: "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/<id>",
    regional: true,
};
pub(crate) const PROFILE: ArnKind = ArnKind {
    flag: "--profile-arn",
    service: "rolesanywhere",
    resource_prefix: "profile/",
    example: "arn:aws:rolesanywhere:us-east-1:123456789012:profile/<id>",
    regional: true,
};
pub(crate) const ROLE: ArnKind = ArnKind {
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

pub(crate) fn parse_arn(kind: &ArnKind, value: &str) -> Result<Arn> {
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
pub(crate) fn region_example(partition: &str) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

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
