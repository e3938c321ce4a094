//! RFC 7512 PKCS#11 URIs: parsing with percent-decoding (errors name the bad attribute) and
//! formatting with percent-encoding.

use std::fmt::Write as _;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The kind of object a URI's `type=` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectType {
    Cert,
    Private,
    Public,
    SecretKey,
    Data,
}

impl ObjectType {
    fn parse(value: &str) -> Option<ObjectType> {
        Some(match value {
            "cert" => ObjectType::Cert,
            "private" => ObjectType::Private,
            "public" => ObjectType::Public,
            "secret-key" => ObjectType::SecretKey,
            "data" => ObjectType::Data,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ObjectType::Cert => "cert",
            ObjectType::Private => "private",
            ObjectType::Public => "public",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        }
    }
}

/// A parsed `pkcs11:` URI. Text attributes are compared with the token's (space-trimmed) strings;
/// `object` and `id` are raw bytes because tokens store them as bytes.
#[derive(Default, Clone)]
pub(crate) struct Pkcs11Uri {
    pub(crate) token: Option<String>,
    pub(crate) manufacturer: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) serial: Option<String>,
    pub(crate) slot_id: Option<u64>,
    pub(crate) slot_description: Option<String>,
    pub(crate) slot_manufacturer: Option<String>,
    pub(crate) library_manufacturer: Option<String>,
    pub(crate) library_description: Option<String>,
    /// `major` or `major.minor`, as RFC 7512 writes it.
    pub(crate) library_version: Option<(u8, u8)>,
    pub(crate) object: Option<Vec<u8>>,
    pub(crate) id: Option<Vec<u8>>,
    pub(crate) object_type: Option<ObjectType>,
    pub(crate) pin_value: Option<Zeroizing<String>>,
    pub(crate) pin_source: Option<String>,
    pub(crate) module_path: Option<String>,
    pub(crate) module_name: Option<String>,
}

impl std::fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the PIN: `redacted` leaves it out.
        write!(f, "{}", self.redacted())
    }
}

/// Whether `value` is a PKCS#11 URI rather than a file path.
pub(crate) fn is_pkcs11_uri(value: &str) -> bool {
    uri_body(value).is_some()
}

/// What follows the `pkcs11:` scheme (any case), or `None` when `value` has no such prefix.
/// Never slices at a byte index: a path such as `./certé.pem` has a multi-byte character there.
fn uri_body(value: &str) -> Option<&str> {
    let scheme = value.get(..7)?;
    scheme
        .eq_ignore_ascii_case("pkcs11:")
        .then(|| value.get(7..))
        .flatten()
}

impl Pkcs11Uri {
    /// Parses `text`; `flag` names where it came from in errors (exit 2, pointing at the attribute).
    pub(crate) fn parse(text: &str, flag: &str) -> Result<Pkcs11Uri> {
        let Some(rest) = uri_body(text) else {
            return Err(Error::invalid_argument(
                flag,
                "not a PKCS#11 URI: it must start with `pkcs11:`",
            ));
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri::default();
        let mut seen: Vec<String> = Vec::new();
        for attribute in path.split(';').filter(|a| !a.is_empty()) {
            let (name, raw) = split_attribute(attribute, flag)?;
            if seen.iter().any(|s| s == name) {
                return Err(bad(
                    flag,
                    name,
                    "appears twice; a path attribute may appear once",
                ));
            }
            seen.push(name.to_string());
            let bytes = percent_decode(raw, flag, name)?;
            let text = || text_value(&bytes, flag, name);
            match name {
                "token" => uri.token = Some(text()?),
                "manufacturer" => uri.manufacturer = Some(text()?),
                "model" => uri.model = Some(text()?),
                "serial" => uri.serial = Some(text()?),
                "slot-description" => uri.slot_description = Some(text()?),
                "slot-manufacturer" => uri.slot_manufacturer = Some(text()?),
                "library-manufacturer" => uri.library_manufacturer = Some(text()?),
                "library-description" => uri.library_description = Some(text()?),
                "library-version" => uri.library_version = Some(parse_version(&text()?, flag)?),
                "slot-id" => {
                    let value = text()?;
                    uri.slot_id = Some(value.parse::<u64>().map_err(|_| {
                        bad(
                            flag,
                            name,
                            format!("`{value}` is not a decimal slot number"),
                        )
                    })?);
                }
                "object" => uri.object = Some(bytes.to_vec()),
                "id" => uri.id = Some(bytes.to_vec()),
                "type" => {
                    let value = text()?;
                    uri.object_type = Some(ObjectType::parse(&value).ok_or_else(|| {
                        bad(
                            flag,
                            name,
                            format!(
                                "`{value}` is not one of cert, private, public, secret-key, data"
                            ),
                        )
                    })?);
                }
                // Vendor attributes (RFC 7512 §2.3) are allowed and ignored.
                vendor if vendor.starts_with("x-") => {}
                "pin-value" | "pin-source" | "module-name" | "module-path" => {
                    return Err(bad(
                        flag,
                        name,
                        format!(
                            "is a query attribute: write it after `?`, e.g. `pkcs11:token=T;object=O?{name}=…`"
                        ),
                    ));
                }
                other => {
                    return Err(bad(
                        flag,
                        other,
                        "is not an RFC 7512 path attribute (token, manufacturer, model, serial, slot-id, slot-description, slot-manufacturer, library-manufacturer, library-description, library-version, object, id, type)",
                    ));
                }
            }
        }
        if let Some(query) = query {
            let mut seen: Vec<String> = Vec::new();
            for attribute in query.split('&').filter(|a| !a.is_empty()) {
                let (name, raw) = split_attribute(attribute, flag)?;
                if seen.iter().any(|s| s == name) {
                    return Err(bad(flag, name, "appears twice"));
                }
                seen.push(name.to_string());
                let bytes = percent_decode(raw, flag, name)?;
                let value = Zeroizing::new(text_value(&bytes, flag, name)?);
                match name {
                    "pin-value" => uri.pin_value = Some(value),
                    "pin-source" => uri.pin_source = Some(value.to_string()),
                    "module-path" => uri.module_path = Some(value.to_string()),
                    "module-name" => uri.module_name = Some(value.to_string()),
                    vendor if vendor.starts_with("x-") => {}
                    other => {
                        return Err(bad(
                            flag,
                            other,
                            "is not an RFC 7512 query attribute (pin-value, pin-source, module-name, module-path)",
                        ));
                    }
                }
            }
            if uri.pin_value.is_some() && uri.pin_source.is_some() {
                return Err(bad(
                    flag,
                    "pin-source",
                    "cannot be given together with pin-value (RFC 7512); keep one",
                ));
            }
        }
        Ok(uri)
    }

    /// The URI with every attribute but the PIN, for messages and listings.
    pub(crate) fn redacted(&self) -> String {
        let mut path: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut text = |name: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                path.push((name, v.as_bytes().to_vec()));
            }
        };
        text("token", &self.token);
        text("manufacturer", &self.manufacturer);
        text("model", &self.model);
        text("serial", &self.serial);
        text("slot-description", &self.slot_description);
        text("slot-manufacturer", &self.slot_manufacturer);
        text("library-manufacturer", &self.library_manufacturer);
        text("library-description", &self.library_description);
        if let Some((major, minor)) = self.library_version {
            path.push(("library-version", format!("{major}.{minor}").into_bytes()));
        }
        if let Some(slot) = self.slot_id {
            path.push(("slot-id", slot.to_string().into_bytes()));
        }
        if let Some(id) = &self.id {
            path.push(("id", id.clone()));
        }
        if let Some(object) = &self.object {
            path.push(("object", object.clone()));
        }
        if let Some(kind) = self.object_type {
            path.push(("type", kind.name().as_bytes().to_vec()));
        }
        let mut out = String::from("pkcs11:");
        for (i, (name, value)) in path.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(name);
            out.push('=');
            // An id is binary: every byte encoded, as p11tool prints it.
            out.push_str(&percent_encode(value, *name == "id"));
        }
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(source) = &self.pin_source {
            query.push(("pin-source", source));
        }
        if let Some(path) = &self.module_path {
            query.push(("module-path", path));
        }
        if let Some(name) = &self.module_name {
            query.push(("module-name", name));
        }
        for (i, (name, value)) in query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(name);
            out.push('=');
            out.push_str(&percent_encode(value.as_bytes(), false));
        }
        out
    }
}

fn bad(flag: &str, attribute: &str, problem: impl std::fmt::Display) -> Error {
    Error::invalid_argument(
        flag,
        format!("PKCS#11 URI attribute `{attribute}` {problem}"),
    )
}

fn split_attribute<'a>(attribute: &'a str, flag: &str) -> Result<(&'a str, &'a str)> {
    let (name, value) = attribute.split_once('=').ok_or_else(|| {
        // Never echo what might be a PIN typed without its name.
        let shown = if attribute.len() > 24 {
            "(long text)"
        } else {
            attribute
        };
        Error::invalid_argument(
            flag,
            format!("PKCS#11 URI attribute `{shown}` has no `=value`; write name=value pairs separated by `;`"),
        )
    })?;
    if name.is_empty() {
        return Err(Error::invalid_argument(
            flag,
            "PKCS#11 URI has an attribute with an empty name (`=value`)",
        ));
    }
    Ok((name, value))
}

/// Decodes `%XX` escapes; a bad escape is reported against its attribute.
pub(crate) fn percent_decode(raw: &str, flag: &str, name: &str) -> Result<Zeroizing<Vec<u8>>> {
    let bytes = raw.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                let text = std::str::from_utf8(h).ok()?;
                u8::from_str_radix(text, 16).ok()
            });
            match hex {
                Some(byte) => out.push(byte),
                None => {
                    return Err(bad(
                        flag,
                        name,
                        format!(
                            "has a bad percent-escape at byte {} of its value: `%` must be followed by two hex digits",
                            i + 1
                        ),
                    ));
                }
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn text_value(bytes: &[u8], flag: &str, name: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| bad(flag, name, "is not UTF-8 text once percent-decoded"))
}

fn parse_version(value: &str, flag: &str) -> Result<(u8, u8)> {
    let wrong = || {
        bad(
            flag,
            "library-version",
            format!("`{value}` is not `major` or `major.minor` (e.g. 2.6)"),
        )
    };
    let (major, minor) = match value.split_once('.') {
        Some((major, minor)) => (major, minor),
        None => (value, "0"),
    };
    Ok((
        major.parse().map_err(|_| wrong())?,
        minor.parse().map_err(|_| wrong())?,
    ))
}

/// Encodes `value` for a URI: RFC 3986 unreserved characters stay, everything else becomes `%XX`
/// (all bytes when `every_byte`).
pub(crate) fn percent_encode(value: &[u8], every_byte: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for &byte in value {
        let unreserved = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        if unreserved && !every_byte {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pkcs11Uri> {
        Pkcs11Uri::parse(text, "--private-key")
    }

    #[test]
    fn file_names_with_a_multibyte_character_at_the_scheme_boundary_are_paths_not_a_panic() {
        for path in [
            "./certé.pem",
            "/tmp/日本.pem",
            "pkcs11",
            "pkcs1é:x",
            "ü",
            "",
        ] {
            assert!(!is_pkcs11_uri(path), "{path}");
            assert!(parse(path).is_err(), "{path}");
        }
        assert!(is_pkcs11_uri("PKCS11:token=a"));
        assert!(is_pkcs11_uri("pkcs11:"));
    }

    #[test]
    fn parses_every_path_and_query_attribute_with_percent_decoding() {
        let uri = parse(
            "pkcs11:token=edge%20box;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=abc;\
             slot-id=7;slot-description=S;slot-manufacturer=M;library-manufacturer=LM;\
             library-description=LD;library-version=2.6;object=ra-leaf;id=%01%a0;type=private\
             ?pin-value=12%3B34&module-path=/usr/lib/softhsm/libsofthsm2.so",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("edge box"));
        assert_eq!(uri.manufacturer.as_deref(), Some("SoftHSM project"));
        assert_eq!(uri.model.as_deref(), Some("SoftHSM v2"));
        assert_eq!(uri.serial.as_deref(), Some("abc"));
        assert_eq!(uri.slot_id, Some(7));
        assert_eq!(uri.slot_description.as_deref(), Some("S"));
        assert_eq!(uri.slot_manufacturer.as_deref(), Some("M"));
        assert_eq!(uri.library_manufacturer.as_deref(), Some("LM"));
        assert_eq!(uri.library_description.as_deref(), Some("LD"));
        assert_eq!(uri.library_version, Some((2, 6)));
        assert_eq!(uri.object.as_deref(), Some(&b"ra-leaf"[..]));
        assert_eq!(uri.id.as_deref(), Some(&[0x01, 0xa0][..]));
        assert_eq!(uri.object_type, Some(ObjectType::Private));
        assert_eq!(uri.pin_value.as_deref().map(String::as_str), Some("12;34"));
        assert_eq!(
            uri.module_path.as_deref(),
            Some("/usr/lib/softhsm/libsofthsm2.so")
        );
        let uri = parse("pkcs11:object=x?pin-source=file:/run/pin&module-name=softhsm2").unwrap();
        assert_eq!(uri.pin_source.as_deref(), Some("file:/run/pin"));
        assert_eq!(uri.module_name.as_deref(), Some("softhsm2"));
        assert_eq!(parse("PKCS11:").unwrap().token, None);
        assert_eq!(
            parse("pkcs11:library-version=3").unwrap().library_version,
            Some((3, 0))
        );
    }

    #[test]
    fn formats_round_trip_and_never_include_the_pin() {
        let text = "pkcs11:token=edge%20box;serial=0a;id=%01%FF;object=ra%2Fleaf%3B1;type=cert?pin-value=1234";
        let uri = parse(text).unwrap();
        let shown = uri.redacted();
        assert!(!shown.contains("1234"), "{shown}");
        assert!(!format!("{uri:?}").contains("1234"));
        assert_eq!(
            shown,
            "pkcs11:token=edge%20box;serial=0a;id=%01%FF;object=ra%2Fleaf%3B1;type=cert"
        );
        let again = parse(&shown).unwrap();
        assert_eq!(again.object, uri.object);
        assert_eq!(again.id, uri.id);
        assert_eq!(again.token, uri.token);
    }

    #[test]
    fn malformed_uris_name_the_bad_attribute() {
        let message = |text: &str| match parse(text) {
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{e}");
                e.to_string()
            }
            Ok(_) => panic!("{text} should be refused"),
        };
        assert!(message("pkcs11:object=a%zz").contains("`object` has a bad percent-escape"));
        assert!(message("pkcs11:object=a%2").contains("`object`"));
        assert!(message("pkcs11:slot-id=one").contains("`slot-id`"));
        assert!(message("pkcs11:type=key").contains("`type`"));
        assert!(message("pkcs11:tokn=edge").contains("`tokn` is not an RFC 7512 path attribute"));
        assert!(message("pkcs11:token=a;token=b").contains("`token` appears twice"));
        assert!(message("pkcs11:token").contains("no `=value`"));
        assert!(message("pkcs11:pin-value=1").contains("`pin-value` is a query attribute"));
        assert!(message("pkcs11:?pin-value=1&pin-source=/f").contains("`pin-source`"));
        assert!(message("pkcs11:?pin=1").contains("`pin` is not an RFC 7512 query attribute"));
        assert!(message("pkcs11:library-version=x.1").contains("`library-version`"));
        assert!(message("pkcs11:token=%FF").contains("not UTF-8"));
        assert!(message("file:/x").contains("must start with `pkcs11:`"));
        // A PIN typed without its name is not echoed.
        assert!(!message("pkcs11:token=a;12345678901234567890123456").contains("1234567890"));
    }

    #[test]
    fn percent_encoding_keeps_unreserved_characters() {
        assert_eq!(percent_encode(b"A-z_0.9~", false), "A-z_0.9~");
        assert_eq!(percent_encode(b"a b/c", false), "a%20b%2Fc");
        assert_eq!(percent_encode(b"ab", true), "%61%62");
    }
}
