//! Role chaining, checked: the role `sts:AssumeRole` is called for after CreateSession, with its
//! external ID, session name, session tags, transitive tag keys, duration and STS endpoint. Each
//! value is checked against STS's own limits here, before any network call, so a typo is one
//! line naming its flag rather than a refusal from STS.

use crate::error::{Error, Result};

/// The chained session's duration when none is given: STS's default and its cap for chained
/// sessions.
pub const DEFAULT_CHAIN_DURATION: i64 = 3600;
/// STS limits a role-chaining session to one hour, whatever the role's maximum.
pub const MAX_CHAIN_DURATION: i64 = 3600;
/// STS's shortest session.
pub const MIN_CHAIN_DURATION: i64 = 900;
/// STS accepts at most 50 session tags, and as many transitive keys.
pub const MAX_SESSION_TAGS: usize = 50;

/// The chaining flags as typed; [`ChainSettings::validate`] checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainSettings {
    /// `--assume-role-arn`.
    pub assume_role_arn: Option<String>,
    /// `--external-id`.
    pub external_id: Option<String>,
    /// `--assume-role-session-name`.
    pub session_name: Option<String>,
    /// `--session-tag KEY=VALUE`, each as typed.
    pub session_tags: Vec<String>,
    /// `--transitive-tag-key KEY`.
    pub transitive_tag_keys: Vec<String>,
    /// `--assume-role-duration`, in seconds, unchecked.
    pub duration: Option<i64>,
    /// `--sts-endpoint`.
    pub sts_endpoint: Option<String>,
}

/// One session tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTag {
    /// The key (1 to 128 characters).
    pub key: String,
    /// The value (0 to 256 characters).
    pub value: String,
}

/// A checked role chain: what AssumeRole is called with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChain {
    /// The role to assume, as given.
    pub role_arn: String,
    /// Its account.
    pub account: String,
    /// `--external-id`.
    pub external_id: Option<String>,
    /// `--assume-role-session-name`; `None`: derived from the certificate.
    pub session_name: Option<String>,
    /// The session tags, in the order given.
    pub tags: Vec<SessionTag>,
    /// The transitive tag keys, each one of `tags`' keys.
    pub transitive_tag_keys: Vec<String>,
    /// The chained session's duration, 900 to 3600 seconds.
    pub duration_seconds: u32,
}

impl ChainSettings {
    /// Whether any chaining flag but `--sts-endpoint` was given.
    fn any_given(&self) -> Option<&'static str> {
        [
            ("--external-id", self.external_id.is_some()),
            ("--assume-role-session-name", self.session_name.is_some()),
            ("--session-tag", !self.session_tags.is_empty()),
            ("--transitive-tag-key", !self.transitive_tag_keys.is_empty()),
            ("--assume-role-duration", self.duration.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }

    /// The chain, checked, or `None` without `--assume-role-arn`. `partition` is the trust
    /// anchor's: STS of that partition is the one the session's credentials work with.
    pub fn validate(&self, partition: &str) -> Result<Option<RoleChain>> {
        let Some(role_arn) = self.assume_role_arn.as_deref().filter(|a| !a.is_empty()) else {
            return match self.any_given() {
                Some(flag) => Err(Error::invalid_argument(
                    flag,
                    "chains into a role: give --assume-role-arn too",
                )),
                None => Ok(None),
            };
        };
        let role = super::arn::parse_role_arn("--assume-role-arn", role_arn)?;
        if role.partition != partition {
            return Err(Error::invalid_argument(
                "--assume-role-arn",
                format!(
                    "partition '{}' differs from the trust anchor's '{partition}': the session's credentials work only with STS of their own partition",
                    role.partition
                ),
            ));
        }
        if let Some(external_id) = &self.external_id {
            check_external_id(external_id)?;
        }
        if let Some(name) = &self.session_name {
            check_session_name("--assume-role-session-name", name)?;
        }
        let tags = self
            .session_tags
            .iter()
            .map(|tag| parse_tag(tag))
            .collect::<Result<Vec<_>>>()?;
        check_tag_set(&tags, &self.transitive_tag_keys)?;
        let duration = self.duration.unwrap_or(DEFAULT_CHAIN_DURATION);
        if duration > MAX_CHAIN_DURATION {
            return Err(Error::invalid_argument(
                "--assume-role-duration",
                format!(
                    "{duration} is more than STS grants a chained session (3600 seconds, one hour, whatever the role's maximum); give 900 to 3600"
                ),
            ));
        }
        if duration < MIN_CHAIN_DURATION {
            return Err(Error::invalid_argument(
                "--assume-role-duration",
                format!("{duration} is out of range; give 900 to 3600 seconds"),
            ));
        }
        Ok(Some(RoleChain {
            role_arn: role_arn.to_string(),
            account: role.account,
            external_id: self.external_id.clone(),
            session_name: self.session_name.clone(),
            tags,
            transitive_tag_keys: self.transitive_tag_keys.clone(),
            duration_seconds: duration as u32,
        }))
    }
}

/// Whether `c` is one of `[\w+=,.@-]`, the characters of a role session name.
fn session_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// A role session name is 2 to 64 characters of `[\w+=,.@-]`.
pub fn check_session_name(flag: &str, name: &str) -> Result<()> {
    if (2..=64).contains(&name.len()) && name.chars().all(session_name_char) {
        return Ok(());
    }
    // A value far too long is not echoed.
    let shown = if name.chars().count() > 64 {
        format!("a name of {} characters", name.chars().count())
    } else {
        format!("'{name}'")
    };
    Err(Error::invalid_argument(
        flag,
        format!("{shown} is invalid; use 2 to 64 characters of letters, digits and _+=,.@-"),
    ))
}

/// The role session name derived from a certificate: its common name (else `fallback`, the
/// serial) with every character STS refuses replaced by `-`, cut to 64 characters; a result
/// shorter than 2 characters is padded from `fallback`.
pub fn session_name_from(common_name: Option<&str>, fallback: &str) -> String {
    let sanitize = |text: &str| -> String {
        text.chars()
            .map(|c| if session_name_char(c) { c } else { '-' })
            .take(64)
            .collect()
    };
    let name = sanitize(common_name.unwrap_or(fallback));
    if name.len() >= 2 {
        return name;
    }
    sanitize(&format!("{name}{fallback}-rolesanywhere"))
}

/// An external ID is 2 to 1224 characters of `[\w+=,.@:/-]`.
fn check_external_id(value: &str) -> Result<()> {
    let valid = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
    if (2..=1224).contains(&value.len()) && valid {
        return Ok(());
    }
    Err(Error::invalid_argument(
        "--external-id",
        format!(
            "a value of {} characters is invalid; use 2 to 1224 characters of letters, digits and _+=,.@:/-",
            value.chars().count()
        ),
    ))
}

/// Whether `c` may be in a tag key or value: letters, digits, spaces and `_.:/=+-@`.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// `KEY=VALUE`, split at the first `=`: a key of 1 to 128 characters, not starting with `aws:`,
/// and a value of at most 256, both of letters, digits, spaces and `_.:/=+-@`.
fn parse_tag(text: &str) -> Result<SessionTag> {
    let bad = |why: String| Error::invalid_argument("--session-tag", why);
    let shown = if text.chars().count() > 400 {
        format!("a tag of {} characters", text.chars().count())
    } else {
        format!("'{text}'")
    };
    let Some((key, value)) = text.split_once('=') else {
        return Err(bad(format!("{shown} has no '='; give KEY=VALUE")));
    };
    if key.is_empty() || key.chars().count() > 128 {
        return Err(bad(format!("{shown}: a key has 1 to 128 characters")));
    }
    if value.chars().count() > 256 {
        return Err(bad(format!("{shown}: a value has at most 256 characters")));
    }
    if !key.chars().chain(value.chars()).all(tag_char) {
        return Err(bad(format!(
            "{shown}: keys and values are letters, digits, spaces and _.:/=+-@"
        )));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(bad(format!(
            "{shown}: keys starting with aws: are AWS's own"
        )));
    }
    Ok(SessionTag {
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// At most 50 tags, keys unique regardless of case (as STS compares them), and each transitive
/// key one of the tags' keys.
fn check_tag_set(tags: &[SessionTag], transitive: &[String]) -> Result<()> {
    if tags.len() > MAX_SESSION_TAGS {
        return Err(Error::invalid_argument(
            "--session-tag",
            format!(
                "{} tags given; STS takes at most {MAX_SESSION_TAGS}",
                tags.len()
            ),
        ));
    }
    for (i, tag) in tags.iter().enumerate() {
        if tags[..i]
            .iter()
            .any(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            return Err(Error::invalid_argument(
                "--session-tag",
                format!(
                    "key '{}' is given twice (STS compares keys regardless of case)",
                    tag.key
                ),
            ));
        }
    }
    if transitive.len() > MAX_SESSION_TAGS {
        return Err(Error::invalid_argument(
            "--transitive-tag-key",
            format!(
                "{} keys given; STS takes at most {MAX_SESSION_TAGS}",
                transitive.len()
            ),
        ));
    }
    for key in transitive {
        if !tags.iter().any(|t| t.key.eq_ignore_ascii_case(key)) {
            let shown: String = key.chars().take(128).collect();
            return Err(Error::invalid_argument(
                "--transitive-tag-key",
                format!(
                    "'{shown}' is not the key of a --session-tag; a transitive key must name a session tag"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::210987654321:role/target";

    fn chain(edit: impl FnOnce(&mut ChainSettings)) -> Result<Option<RoleChain>> {
        let mut settings = ChainSettings {
            assume_role_arn: Some(ROLE.into()),
            ..ChainSettings::default()
        };
        edit(&mut settings);
        settings.validate("aws")
    }

    #[test]
    fn no_role_no_chain_but_chain_flags_alone_are_refused() {
        assert_eq!(ChainSettings::default().validate("aws").unwrap(), None);
        let sts_only = ChainSettings {
            sts_endpoint: Some("http://127.0.0.1:1".into()),
            ..ChainSettings::default()
        };
        assert_eq!(sts_only.validate("aws").unwrap(), None);
        let alone = ChainSettings {
            external_id: Some("abc".into()),
            ..ChainSettings::default()
        };
        let e = alone.validate("aws").unwrap_err();
        assert!(e.to_string().starts_with("--external-id: "), "{e}");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn a_valid_chain_keeps_every_input() {
        let chain = chain(|s| {
            s.external_id = Some("ext-1:a/b".into());
            s.session_name = Some("edge@site".into());
            s.session_tags = vec!["team=edge ops".into(), "cost=a=b".into()];
            s.transitive_tag_keys = vec!["Team".into()];
            s.duration = Some(900);
        })
        .unwrap()
        .unwrap();
        assert_eq!(chain.account, "210987654321");
        assert_eq!(chain.duration_seconds, 900);
        assert_eq!(chain.tags[1].key, "cost");
        assert_eq!(chain.tags[1].value, "a=b");
        assert_eq!(chain.transitive_tag_keys, ["Team"]);
    }

    #[test]
    fn each_bad_input_names_its_flag() {
        type Edit = fn(&mut ChainSettings);
        let cases: &[(Edit, &str)] = &[
            (
                |s| s.assume_role_arn = Some("arn:aws:iam::1:role/x".into()),
                "--assume-role-arn",
            ),
            (
                |s| s.assume_role_arn = Some("arn:aws-cn:iam::210987654321:role/x".into()),
                "--assume-role-arn",
            ),
            (
                |s| s.assume_role_arn = Some("arn:aws:sts::210987654321:role/x".into()),
                "--assume-role-arn",
            ),
            (|s| s.duration = Some(3601), "--assume-role-duration"),
            (|s| s.duration = Some(899), "--assume-role-duration"),
            (
                |s| s.session_name = Some("has space".into()),
                "--assume-role-session-name",
            ),
            (
                |s| s.session_name = Some("x".into()),
                "--assume-role-session-name",
            ),
            (|s| s.external_id = Some("a b".into()), "--external-id"),
            (|s| s.external_id = Some("x".into()), "--external-id"),
            (|s| s.session_tags = vec!["novalue".into()], "--session-tag"),
            (|s| s.session_tags = vec!["=v".into()], "--session-tag"),
            (|s| s.session_tags = vec!["aws:x=v".into()], "--session-tag"),
            (|s| s.session_tags = vec!["k=v;".into()], "--session-tag"),
            (
                |s| s.session_tags = vec![format!("{}=v", "k".repeat(129))],
                "--session-tag",
            ),
            (
                |s| s.session_tags = vec![format!("k={}", "v".repeat(257))],
                "--session-tag",
            ),
            (
                |s| s.session_tags = vec!["k=1".into(), "K=2".into()],
                "--session-tag",
            ),
            (
                |s| s.session_tags = (0..51).map(|i| format!("k{i}=v")).collect(),
                "--session-tag",
            ),
            (
                |s| s.transitive_tag_keys = vec!["nope".into()],
                "--transitive-tag-key",
            ),
        ];
        for (edit, flag) in cases {
            let e = chain(*edit).unwrap_err();
            assert!(e.to_string().starts_with(&format!("{flag}: ")), "{e}");
            assert_eq!(e.exit_code(), 2, "{e}");
            assert!(e.to_string().len() < 500, "{e}");
        }
        let e = chain(|s| s.duration = Some(7200)).unwrap_err();
        assert!(e.to_string().contains("one hour"), "{e}");
    }

    #[test]
    fn the_default_session_name_is_the_common_name_made_valid() {
        assert_eq!(
            session_name_from(Some("host-1.example.com"), "7"),
            "host-1.example.com"
        );
        assert_eq!(
            session_name_from(Some("Édge device #3"), "7"),
            "-dge-device--3"
        );
        assert_eq!(session_name_from(None, "123456"), "123456");
        assert_eq!(session_name_from(Some("x"), "7"), "x7-rolesanywhere");
        assert_eq!(session_name_from(Some(&"a".repeat(100)), "7").len(), 64);
        for name in [
            session_name_from(Some("Édge device #3"), "7"),
            session_name_from(Some(""), ""),
        ] {
            check_session_name("x", &name).unwrap();
        }
    }
}
