//! STS's answers (the query protocol's XML): GetCallerIdentity's and AssumeRole's results, and
//! its errors, with what each error code means for a Roles Anywhere user.

use zeroize::Zeroizing;

use super::CallerIdentity;
use crate::error::{Error, Result, ServiceError};
use crate::session::answer::{Credentials, check_values, parse_timestamp};

/// What a user should make of an STS error code, as a Roles Anywhere user meets it.
pub fn explain(code: &str) -> &'static str {
    match code {
        "InvalidClientTokenId" => {
            "STS does not know this access key: the credentials were not issued by this AWS partition (a local or test Roles Anywhere endpoint, or an STS endpoint of another partition), or the session token was cut short"
        }
        "SignatureDoesNotMatch" => {
            "the request's signature did not verify: something between here and STS (a proxy) changed the request, or the STS endpoint is not the one the request was signed for (--sts-endpoint, AWS_ENDPOINT_URL_STS)"
        }
        "AccessDenied" | "AccessDeniedException" => {
            "GetCallerIdentity needs no IAM permission, so something in front of STS refused it: a VPC endpoint policy or an organisation's network controls"
        }
        "ExpiredToken" | "ExpiredTokenException" => {
            "the session expired before STS saw it: check this machine's clock and --session-duration"
        }
        "RegionDisabledException" => {
            "STS is not activated in this region for the account: activate it in the IAM account settings, or name an active region's endpoint with --sts-endpoint"
        }
        _ => "see STS's message",
    }
}

/// The text of the first `<tag>…</tag>` element of `xml` (with or without a namespace prefix),
/// its entities decoded; `None` when there is none.
fn element(xml: &str, tag: &str) -> Option<String> {
    let mut rest = xml;
    loop {
        let open = rest.find('<')?;
        rest = &rest[open + 1..];
        let name_end = rest.find(['>', ' ', '/', '\t', '\r', '\n'])?;
        let name = &rest[..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if local != tag {
            continue;
        }
        let start = rest.find('>')?;
        if rest[..start].ends_with('/') {
            return Some(String::new());
        }
        let content = &rest[start + 1..];
        let close = format!("</{name}>");
        let end = content.find(&close)?;
        return Some(decode_entities(content[..end].trim()));
    }
}

/// XML's five named entities and numeric character references; anything else is kept as is.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(semi) = tail.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses a GetCallerIdentity answer.
pub fn parse_caller_identity(body: &[u8]) -> Result<CallerIdentity> {
    let unusable = |why: &str| {
        Error::Unavailable(format!(
            "sts:GetCallerIdentity answered with an unusable body: {why}; check --sts-endpoint"
        ))
    };
    let xml = std::str::from_utf8(body).map_err(|_| unusable("not UTF-8"))?;
    let result = element(xml, "GetCallerIdentityResult")
        .ok_or_else(|| unusable("no GetCallerIdentityResult"))?;
    // The result's fields hold no markup, so reading them from the decoded result is exact.
    let field = |name: &str| {
        element(&result, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| unusable(&format!("no {name}")))
    };
    let identity = CallerIdentity {
        account: field("Account")?,
        arn: field("Arn")?,
        user_id: field("UserId")?,
    };
    if !identity.arn.starts_with("arn:") {
        return Err(unusable("the Arn is not an ARN"));
    }
    Ok(identity)
}

/// The role session AssumeRole returned besides the credentials (nothing secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRoleUser {
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// `AROA…:SESSION`.
    pub assumed_role_id: String,
}

/// Parses an AssumeRole answer: the chained credentials, checked as CreateSession's are, and the
/// assumed-role user. Every copy of the secrets is zeroized.
pub fn parse_assume_role(body: &[u8]) -> Result<(Credentials, AssumedRoleUser)> {
    let unusable = |why: &str| {
        Error::Unavailable(format!(
            "sts:AssumeRole answered with an unusable body: {why}; nothing was written or printed; check --sts-endpoint"
        ))
    };
    let xml = std::str::from_utf8(body).map_err(|_| unusable("not UTF-8"))?;
    let result = Zeroizing::new(
        element(xml, "AssumeRoleResult").ok_or_else(|| unusable("no AssumeRoleResult"))?,
    );
    // Its fields hold no markup, so reading them from the decoded result is exact.
    let credentials =
        Zeroizing::new(element(&result, "Credentials").ok_or_else(|| unusable("no Credentials"))?);
    let field = |xml: &str, name: &str| {
        element(xml, name)
            .map(Zeroizing::new)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| unusable(&format!("no {name}")))
    };
    let access_key_id = field(&credentials, "AccessKeyId")?;
    let secret_access_key = field(&credentials, "SecretAccessKey")?;
    let session_token = field(&credentials, "SessionToken")?;
    let expiration = field(&credentials, "Expiration")?;
    check_values(&access_key_id, &secret_access_key, &session_token)
        .map_err(|why| unusable(&why))?;
    let expiration = parse_timestamp(&expiration)
        .ok_or_else(|| unusable("the Expiration is not a timestamp"))?;
    let user = Zeroizing::new(
        element(&result, "AssumedRoleUser").ok_or_else(|| unusable("no AssumedRoleUser"))?,
    );
    let user = AssumedRoleUser {
        arn: field(&user, "Arn")?.to_string(),
        assumed_role_id: field(&user, "AssumedRoleId")?.to_string(),
    };
    Ok((
        Credentials {
            access_key_id: access_key_id.to_string(),
            secret_access_key: secret_access_key.to_string(),
            session_token: session_token.to_string(),
            expiration,
        },
        user,
    ))
}

/// What an AssumeRole refusal usually means when the caller is a Roles Anywhere session.
pub fn explain_assume_role(code: &str) -> &'static str {
    match code {
        "AccessDenied" | "AccessDeniedException" => {
            "the role's trust policy must allow the Roles Anywhere role's session (sts:AssumeRole, and sts:TagSession for --session-tag), with the same --external-id, and the Roles Anywhere role must be allowed sts:AssumeRole on it"
        }
        "ValidationError" => {
            "check --assume-role-arn, --assume-role-session-name, --session-tag and --assume-role-duration (more than the role's maximum session duration is refused)"
        }
        "PackedPolicyTooLarge" => {
            "the session tags (with those the Roles Anywhere session carries) are too large once packed; use fewer or shorter --session-tag values"
        }
        "RegionDisabledException" => {
            "STS is not activated in this region for the role's account: activate it in the IAM account settings, or name an active region's endpoint with --sts-endpoint"
        }
        _ => explain(code),
    }
}

/// Reads an STS (query protocol) error answer:
/// `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error><RequestId>…`.
pub fn service_error(status: u16, body: &[u8], request_id: Option<String>) -> ServiceError {
    let xml = String::from_utf8_lossy(body);
    let error = element(&xml, "Error").unwrap_or_default();
    let code = element(&error, "Code").filter(|c| !c.is_empty());
    let message = match element(&error, "Message") {
        Some(message) => message,
        None if code.is_none() => xml.chars().filter(|c| !c.is_control()).take(200).collect(),
        None => String::new(),
    };
    ServiceError {
        status,
        error_type: code.unwrap_or_else(|| format!("HTTP{status}")),
        message,
        request_id: request_id.or_else(|| element(&xml, "RequestId").filter(|r| !r.is_empty())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_assume_role_answer_and_refuses_unusable_ones() {
        let body = br#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIARZPUZDIKL64M2LCJ</AccessKeyId><SecretAccessKey>ldiqKbtlsJogQB2XqN2zBerFsyPDwrOU7SUPyEDT</SecretAccessKey>
<SessionToken>FQoGZXIvYXdzEBYaDpLXL9zeJqjvEVZ8zriy+/=</SessionToken><Expiration>2026-12-05T22:49:57.550952Z</Expiration></Credentials>
<AssumedRoleUser><AssumedRoleId>AROA3X42LBCD6RZH5DGB3:ab</AssumedRoleId><Arn>arn:aws:sts::210987654321:assumed-role/x/ab</Arn></AssumedRoleUser>
<PackedPolicySize>6</PackedPolicySize></AssumeRoleResult></AssumeRoleResponse>"#;
        let (credentials, user) = parse_assume_role(body).unwrap();
        assert_eq!(credentials.access_key_id, "ASIARZPUZDIKL64M2LCJ");
        assert_eq!(
            credentials.session_token,
            "FQoGZXIvYXdzEBYaDpLXL9zeJqjvEVZ8zriy+/="
        );
        assert_eq!(credentials.expiration.unix_timestamp(), 1796510997);
        assert_eq!(user.arn, "arn:aws:sts::210987654321:assumed-role/x/ab");
        assert_eq!(user.assumed_role_id, "AROA3X42LBCD6RZH5DGB3:ab");
        let text = std::str::from_utf8(body).unwrap();
        for bad in [
            text.replace(
                "<SessionToken>FQoGZXIvYXdzEBYaDpLXL9zeJqjvEVZ8zriy+/=</SessionToken>",
                "",
            ),
            text.replace("ldiqKbtlsJogQB2XqN2zBerFsyPDwrOU7SUPyEDT", "ldiq'$(x)"),
            text.replace("2026-12-05T22:49:57.550952Z", "tomorrow"),
            text.replace("AssumedRoleUser", "Other"),
            "<html>gateway</html>".to_string(),
        ] {
            let e = parse_assume_role(bad.as_bytes()).unwrap_err();
            assert_eq!(e.exit_code(), 5, "{e}");
            assert!(!e.to_string().contains("ldiq"), "{e}");
        }
        assert_ne!(explain_assume_role("AccessDenied"), explain("AccessDenied"));
        assert_eq!(
            explain_assume_role("InvalidClientTokenId"),
            explain("InvalidClientTokenId")
        );
    }

    #[test]
    fn parses_a_get_caller_identity_answer() {
        let body =
            br#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/R&amp;D/session</Arn>
    <UserId>AROAEXAMPLE:session</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;
        assert_eq!(
            parse_caller_identity(body).unwrap(),
            CallerIdentity {
                account: "123456789012".into(),
                arn: "arn:aws:sts::123456789012:assumed-role/R&D/session".into(),
                user_id: "AROAEXAMPLE:session".into(),
            }
        );
        for bad in [
            &b"<html>gateway</html>"[..],
            b"<GetCallerIdentityResult><Arn>x</Arn><UserId>u</UserId><Account>1</Account></GetCallerIdentityResult>",
            b"<GetCallerIdentityResult><Arn>arn:a</Arn><Account>1</Account></GetCallerIdentityResult>",
            b"<GetCallerIdentityResult><Arn>arn:a</Arn>",
            b"\xff\xfe",
        ] {
            let e = parse_caller_identity(bad).unwrap_err();
            assert_eq!(e.exit_code(), 5, "{e}");
        }
    }

    #[test]
    fn reads_an_sts_error_and_explains_it() {
        let body = br#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>InvalidClientTokenId</Code>
    <Message>The security token included in the request is invalid.</Message>
  </Error>
  <RequestId>req-1</RequestId>
</ErrorResponse>"#;
        let error = service_error(403, body, None);
        assert_eq!(error.error_type, "InvalidClientTokenId");
        assert_eq!(error.request_id.as_deref(), Some("req-1"));
        let denied = Error::StsDenied {
            action: "GetCallerIdentity",
            explanation: explain(&error.error_type).into(),
            error,
        };
        assert_eq!(denied.exit_code(), 4);
        let line = denied.to_string();
        assert!(
            line.starts_with("sts:GetCallerIdentity was refused: HTTP 403 InvalidClientTokenId: The security token included in the request is invalid. (request id req-1); STS does not know this access key"),
            "{line}"
        );
        for code in [
            "SignatureDoesNotMatch",
            "AccessDenied",
            "ExpiredToken",
            "RegionDisabledException",
        ] {
            assert_ne!(explain(code), explain("Unknown"), "{code}");
        }
        let garbage = service_error(502, b"<html>bad\ngateway</html>", None);
        assert_eq!(garbage.error_type, "HTTP502");
        assert!(!garbage.message.contains('\n'));
    }

    #[test]
    fn extracts_elements_robustly() {
        assert_eq!(element("<a:B x='1'>v</a:B>", "B").as_deref(), Some("v"));
        assert_eq!(element("<Bx>no</Bx><B/>", "B").as_deref(), Some(""));
        assert_eq!(element("<B>unclosed", "B"), None);
        assert_eq!(decode_entities("&lt;&#65;&#x42;&bogus;&"), "<AB&bogus;&");
    }
}
