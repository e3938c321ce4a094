//! A certificate request's subject: parsed from an RFC 4514 string (`CN=device-1,O=Acme,C=US`),
//! read from a certificate, and written as the DER `Name` of the request.

use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::der::asn1::{
    Any, Ia5StringRef, ObjectIdentifier, PrintableStringRef, Utf8StringRef,
};
use x509_cert::der::{Decode, Encode, Tag, Tagged};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use super::rfc4514::{escape, split_once_unescaped, split_unescaped, unescape};
use crate::error::{Error, Result};

/// How an attribute's value is written: the string type the standards give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringKind {
    /// UTF8String: most attributes (RFC 5280's choice for new names).
    Utf8,
    /// PrintableString: countryName, serialNumber, dnQualifier; or as a certificate had it.
    Printable,
    /// IA5String: domainComponent, emailAddress.
    Ia5,
}

/// One attribute of a subject, such as `CN=device-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAttribute {
    /// The attribute type's OID, dotted (`2.5.4.3`).
    pub oid: String,
    /// The value, unescaped.
    pub value: String,
    /// How the value is encoded.
    pub kind: StringKind,
}

impl NameAttribute {
    /// The attribute's short name (`CN`, `O`, …), or its dotted OID when it has none.
    pub fn name(&self) -> &str {
        ATTRIBUTES
            .iter()
            .find(|a| a.oid == self.oid)
            .map_or(self.oid.as_str(), |a| a.names[0])
    }
}

/// A distinguished name: relative distinguished names in DER order (the most general first,
/// `C=US` before `CN=device-1`), each one attribute or more (`OU=a+CN=b`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subject {
    /// The RDNs, in DER order.
    pub rdns: Vec<Vec<NameAttribute>>,
}

struct KnownAttribute {
    names: &'static [&'static str],
    oid: &'static str,
    kind: StringKind,
}

const fn known(
    names: &'static [&'static str],
    oid: &'static str,
    kind: StringKind,
) -> KnownAttribute {
    KnownAttribute { names, oid, kind }
}

/// The attributes `--subject` accepts by name (case-insensitive); others by dotted OID.
const ATTRIBUTES: &[KnownAttribute] = &[
    known(&["CN", "commonName"], "2.5.4.3", StringKind::Utf8),
    known(&["SN", "surname"], "2.5.4.4", StringKind::Utf8),
    known(&["serialNumber"], "2.5.4.5", StringKind::Printable),
    known(&["C", "countryName"], "2.5.4.6", StringKind::Printable),
    known(&["L", "localityName"], "2.5.4.7", StringKind::Utf8),
    known(&["ST", "stateOrProvinceName"], "2.5.4.8", StringKind::Utf8),
    known(&["STREET", "streetAddress"], "2.5.4.9", StringKind::Utf8),
    known(&["O", "organizationName"], "2.5.4.10", StringKind::Utf8),
    known(
        &["OU", "organizationalUnitName"],
        "2.5.4.11",
        StringKind::Utf8,
    ),
    known(&["title"], "2.5.4.12", StringKind::Utf8),
    known(&["postalCode"], "2.5.4.17", StringKind::Utf8),
    known(&["GN", "givenName"], "2.5.4.42", StringKind::Utf8),
    known(&["initials"], "2.5.4.43", StringKind::Utf8),
    known(&["generationQualifier"], "2.5.4.44", StringKind::Utf8),
    known(&["dnQualifier"], "2.5.4.46", StringKind::Printable),
    known(&["pseudonym"], "2.5.4.65", StringKind::Utf8),
    known(&["organizationIdentifier"], "2.5.4.97", StringKind::Utf8),
    known(
        &["UID", "userId"],
        "0.9.2342.19200300.100.1.1",
        StringKind::Utf8,
    ),
    known(
        &["DC", "domainComponent"],
        "0.9.2342.19200300.100.1.25",
        StringKind::Ia5,
    ),
    known(
        &["emailAddress", "E"],
        "1.2.840.113549.1.9.1",
        StringKind::Ia5,
    ),
];

const FLAG: &str = "--subject";

impl Subject {
    /// Parses an RFC 4514 string: RDNs separated by `,`, written the most specific first
    /// (`CN=device-1,O=Acme,C=US`), attributes of one RDN joined by `+`, special characters
    /// escaped with `\` (`\,`, `\+`, `\\`, `\"`, `\<`, `\>`, `\;`, `\=`, `\#`, `\ `, `\2C`).
    /// Spaces around `,`, `+` and `=` are ignored. Errors name the part that is wrong.
    pub fn parse(text: &str) -> Result<Subject> {
        if text.trim().is_empty() {
            return Err(Error::invalid_argument(
                FLAG,
                "is empty; give a name such as 'CN=device-1,O=Example'",
            ));
        }
        let mut rdns = Vec::new();
        for (index, rdn_text) in split_unescaped(text, ',').into_iter().enumerate() {
            if rdn_text.trim().is_empty() {
                return Err(Error::invalid_argument(
                    FLAG,
                    format!(
                        "part {} of '{text}' is empty (a stray or doubled ','?)",
                        index + 1
                    ),
                ));
            }
            let mut rdn = Vec::new();
            for part in split_unescaped(rdn_text, '+') {
                rdn.push(parse_attribute(part)?);
            }
            rdns.push(rdn);
        }
        // The string lists the most specific RDN first; DER lists it last (RFC 4514 2.1).
        rdns.reverse();
        Ok(Subject { rdns })
    }

    /// Every attribute in DER order, for checks and messages.
    pub fn attributes(&self) -> impl Iterator<Item = &NameAttribute> {
        self.rdns.iter().flatten()
    }

    /// The RFC 4514 string (most specific first), values escaped: the form `--subject` takes.
    pub fn to_rfc4514(&self) -> String {
        self.rdns
            .iter()
            .rev()
            .map(|rdn| {
                rdn.iter()
                    .map(|a| format!("{}={}", a.name(), escape(&a.value)))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The subject of a certificate, read from its DER `Name` (`input` names it in errors).
    pub fn from_name_der(der: &[u8], input: &str) -> Result<Subject> {
        let bad = |why: String| Error::bad_input(input, format!("its subject {why}"));
        let name = Name::from_der(der).map_err(|e| bad(format!("is malformed: {e}")))?;
        let mut rdns = Vec::new();
        for rdn in name.iter_rdn() {
            let mut attributes = Vec::new();
            for atv in rdn.iter() {
                let oid = atv.oid.to_string();
                let (kind, value) = match atv.value.tag() {
                    Tag::Utf8String => (
                        StringKind::Utf8,
                        atv.value
                            .decode_as::<Utf8StringRef<'_>>()
                            .map(|s| s.as_str().to_string()),
                    ),
                    Tag::PrintableString => (
                        StringKind::Printable,
                        atv.value
                            .decode_as::<PrintableStringRef<'_>>()
                            .map(|s| s.as_str().to_string()),
                    ),
                    Tag::Ia5String => (
                        StringKind::Ia5,
                        atv.value
                            .decode_as::<Ia5StringRef<'_>>()
                            .map(|s| s.as_str().to_string()),
                    ),
                    other => {
                        return Err(bad(format!(
                            "holds {oid} as {other}, which a request cannot copy; give --subject"
                        )));
                    }
                };
                let value = value.map_err(|e| bad(format!("attribute {oid} is malformed: {e}")))?;
                attributes.push(NameAttribute { oid, value, kind });
            }
            rdns.push(attributes);
        }
        Ok(Subject { rdns })
    }

    /// The DER `Name`.
    pub fn to_name(&self) -> Result<Name> {
        let encoding = |e: x509_cert::der::Error| {
            Error::invalid_argument(FLAG, format!("cannot be encoded: {e}"))
        };
        let mut sequence = RdnSequence::default();
        for rdn in &self.rdns {
            // A SET OF: the RDN's attributes sorted as DER asks.
            let mut set = RelativeDistinguishedName::default();
            for attribute in rdn {
                set.insert(attribute_value(attribute)?).map_err(encoding)?;
            }
            sequence.push(set);
        }
        // x509-cert builds a Name from a sequence only by decoding one.
        Name::from_der(&sequence.to_der().map_err(encoding)?).map_err(encoding)
    }
}

fn attribute_value(attribute: &NameAttribute) -> Result<AttributeTypeAndValue> {
    let oid = ObjectIdentifier::new(&attribute.oid).map_err(|e| {
        Error::invalid_argument(FLAG, format!("'{}' is not an OID: {e}", attribute.oid))
    })?;
    let part = format!("{}={}", attribute.name(), escape(&attribute.value));
    let wrong = |what: &str| Error::invalid_argument(FLAG, format!("'{part}': {what}"));
    let value = match attribute.kind {
        StringKind::Utf8 => Utf8StringRef::new(&attribute.value).and_then(|s| Any::encode_from(&s)),
        StringKind::Printable => PrintableStringRef::new(&attribute.value)
            .map_err(|_| {
                wrong("the value may hold only letters, digits, spaces and ' ( ) + , - . / : = ?")
            })?
            .to_der()
            .and_then(|der| Any::from_der(&der)),
        StringKind::Ia5 => Ia5StringRef::new(&attribute.value)
            .map_err(|_| wrong("the value may hold only ASCII characters"))?
            .to_der()
            .and_then(|der| Any::from_der(&der)),
    }
    .map_err(|e| wrong(&format!("cannot be encoded: {e}")))?;
    Ok(AttributeTypeAndValue { oid, value })
}

/// One `TYPE=value` part, unescaped and checked.
fn parse_attribute(part: &str) -> Result<NameAttribute> {
    let shown = part.trim();
    let Some((name, raw_value)) = split_once_unescaped(part, '=') else {
        return Err(Error::invalid_argument(
            FLAG,
            format!("'{shown}' is not ATTRIBUTE=VALUE (such as CN=device-1)"),
        ));
    };
    let name = name.trim();
    let (oid, kind) = attribute_type(name, shown)?;
    let value = unescape(raw_value, shown)?;
    if value.is_empty() {
        return Err(Error::invalid_argument(
            FLAG,
            format!("'{shown}' has an empty value"),
        ));
    }
    let attribute = NameAttribute { oid, value, kind };
    if attribute.oid == "2.5.4.6"
        && (attribute.value.len() != 2 || !attribute.value.chars().all(|c| c.is_ascii_uppercase()))
    {
        return Err(Error::invalid_argument(
            FLAG,
            format!("'{shown}': a country is two capital letters (ISO 3166), such as C=US"),
        ));
    }
    attribute_value(&attribute)?;
    Ok(attribute)
}

/// The OID and string kind of an attribute named by keyword or dotted OID.
fn attribute_type(name: &str, part: &str) -> Result<(String, StringKind)> {
    if let Some(known) = ATTRIBUTES
        .iter()
        .find(|a| a.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
    {
        return Ok((known.oid.to_string(), known.kind));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        let oid = name.strip_prefix("OID.").unwrap_or(name);
        return match ObjectIdentifier::new(oid) {
            Ok(parsed) => {
                let oid = parsed.to_string();
                let kind = ATTRIBUTES
                    .iter()
                    .find(|a| a.oid == oid)
                    .map_or(StringKind::Utf8, |a| a.kind);
                Ok((oid, kind))
            }
            Err(_) => Err(Error::invalid_argument(
                FLAG,
                format!("'{part}': '{name}' is not a dotted OID such as 2.5.4.3"),
            )),
        };
    }
    let names: Vec<&str> = ATTRIBUTES.iter().map(|a| a.names[0]).collect();
    let shown_name = if name.is_empty() { "(nothing)" } else { name };
    Err(Error::invalid_argument(
        FLAG,
        format!(
            "'{part}': unknown attribute '{shown_name}'; use one of {} or a dotted OID",
            names.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitClass;

    fn pairs(subject: &Subject) -> Vec<Vec<String>> {
        subject
            .rdns
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|a| format!("{}={}", a.name(), a.value))
                    .collect()
            })
            .collect()
    }

    fn sorted(subject: &Subject) -> Vec<Vec<(String, String)>> {
        subject
            .rdns
            .iter()
            .map(|rdn| {
                let mut rdn: Vec<_> = rdn
                    .iter()
                    .map(|a| (a.oid.clone(), a.value.clone()))
                    .collect();
                rdn.sort();
                rdn
            })
            .collect()
    }

    #[test]
    fn subjects_are_read_as_rfc_4514_writes_them_most_specific_first() {
        let cases: &[(&str, &[&[&str]], &str)] = &[
            (
                "CN=device-1,O=Acme,C=US",
                &[&["C=US"], &["O=Acme"], &["CN=device-1"]],
                "CN=device-1,O=Acme,C=US",
            ),
            (" CN = spaced out , O = Acme ", &[&["O=Acme"], &["CN=spaced out"]], "CN=spaced out,O=Acme"),
            (r"CN=Smith\, John,O=a\+b", &[&["O=a+b"], &["CN=Smith, John"]], r"CN=Smith\, John,O=a\+b"),
            (r#"CN=\"quoted\" \<x\> \; \\"#, &[&[r#"CN="quoted" <x> ; \"#]], r#"CN=\"quoted\" <x> ; \\"#.replace('<', r"\<").replace('>', r"\>").replace(';', r"\;").leak()),
            (r"CN=\ padded\ ", &[&["CN= padded "]], r"CN=\ padded\ "),
            (r"CN=caf\C3\A9", &[&["CN=café"]], "CN=café"),
            ("CN=日本", &[&["CN=日本"]], "CN=日本"),
            (r"CN=\#hash", &[&["CN=#hash"]], r"CN=\#hash"),
            ("CN=a=b", &[&["CN=a=b"]], r"CN=a\=b"),
            ("cn=lower,ou=one,ou=two", &[&["OU=two"], &["OU=one"], &["CN=lower"]], "CN=lower,OU=one,OU=two"),
            ("OU=unit+CN=name,O=Acme", &[&["O=Acme"], &["OU=unit", "CN=name"]], "OU=unit+CN=name,O=Acme"),
            ("2.5.4.3=by-oid,1.2.3.4=custom", &[&["1.2.3.4=custom"], &["CN=by-oid"]], "CN=by-oid,1.2.3.4=custom"),
            ("emailAddress=a@example.com,DC=example,DC=com", &[&["DC=com"], &["DC=example"], &["emailAddress=a@example.com"]], "emailAddress=a@example.com,DC=example,DC=com"),
            ("serialNumber=ABC-123,CN=x", &[&["CN=x"], &["serialNumber=ABC-123"]], "serialNumber=ABC-123,CN=x"),
        ];
        let mut failures = Vec::new();
        for (text, expected, shown) in cases {
            match Subject::parse(text) {
                Ok(subject) => {
                    let expected: Vec<Vec<String>> = expected
                        .iter()
                        .map(|rdn| rdn.iter().map(|s| s.to_string()).collect())
                        .collect();
                    if pairs(&subject) != expected {
                        failures.push(format!(
                            "{text}: read {:?}, expected {expected:?}",
                            pairs(&subject)
                        ));
                    }
                    if subject.to_rfc4514() != *shown {
                        failures.push(format!(
                            "{text}: written back as {}, expected {shown}",
                            subject.to_rfc4514()
                        ));
                    }
                    if Subject::parse(&subject.to_rfc4514()).ok().as_ref() != Some(&subject) {
                        failures.push(format!("{text}: its written form reads back differently"));
                    }
                    match subject.to_name().and_then(|name| {
                        let der = name.to_der().map_err(|e| Error::Internal(e.to_string()))?;
                        Subject::from_name_der(&der, "test")
                    }) {
                        // An RDN is a SET: DER orders its attributes.
                        Ok(back) if sorted(&back) == sorted(&subject) => {}
                        other => failures.push(format!("{text}: DER round trip gave {other:?}")),
                    }
                }
                Err(e) => failures.push(format!("{text}: refused: {e}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn malformed_subjects_are_refused_naming_the_part_that_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "--subject: is empty"),
            ("   ", "--subject: is empty"),
            ("CN", "'CN' is not ATTRIBUTE=VALUE"),
            ("CN=ok,O", "'O' is not ATTRIBUTE=VALUE"),
            ("CN=ok,,O=x", "part 2 of 'CN=ok,,O=x' is empty"),
            ("CN=ok,", "part 2 of 'CN=ok,' is empty"),
            (
                "XX=foo",
                "'XX=foo': unknown attribute 'XX'; use one of CN, SN",
            ),
            ("=foo", "'=foo': unknown attribute '(nothing)'"),
            ("OU=", "'OU=' has an empty value"),
            ("CN=ok,OU=  ", "'OU=' has an empty value"),
            ("CN=x+OU=", "'OU=' has an empty value"),
            (r"CN=a\qb", r"'CN=a\qb': '\q' is not an escape"),
            (r"CN=a\", r"'CN=a\': ends with a lone '\'"),
            (r"CN=a\4", r"'\4' must be followed by a second hex digit"),
            (r"CN=\C3", "its \\XX escapes are not UTF-8"),
            ("CN=a;b", "';' must be escaped as '\\;'"),
            ("CN=a\"b", "'\"' must be escaped"),
            ("CN=a<b", "'<' must be escaped"),
            ("C=USA", "'C=USA': a country is two capital letters"),
            ("C=us", "'C=us': a country is two capital letters"),
            ("CN=#0403", "hex-encoded values"),
            ("1.2.x=foo", "'1.2.x=foo': '1.2.x' is not a dotted OID"),
            (
                "serialNumber=a_b",
                "'serialNumber=a_b': the value may hold only letters",
            ),
            ("DC=café", "'DC=café': the value may hold only ASCII"),
            ("CN=a\0b", "holds a NUL character"),
        ];
        let mut failures = Vec::new();
        for (text, expected) in cases {
            match Subject::parse(text) {
                Ok(subject) => failures.push(format!("{text:?}: accepted as {subject:?}")),
                Err(e) => {
                    let message = e.to_string();
                    if !message.starts_with("--subject: ") || !message.contains(expected) {
                        failures.push(format!("{text:?}: said {message:?}, expected {expected:?}"));
                    }
                    if e.class() != ExitClass::Usage {
                        failures.push(format!("{text:?}: class {:?}", e.class()));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
