//! Secrets taken out of text that is shown: the `pin-value` of a `pkcs11:` URI.

/// `text` with the value of every PKCS#11 URI `pin-value` attribute replaced by `<redacted>`:
/// how inputs are named in errors, and what every doctor check's text passes through, so no
/// message or report holds a PIN. The value ends where a URI query attribute does (`&`), or at
/// whitespace or a quote.
pub fn pin_values(text: &str) -> String {
    const ATTRIBUTE: &str = "pin-value=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.to_ascii_lowercase().find(ATTRIBUTE) {
        let value_start = at + ATTRIBUTE.len();
        out.push_str(&rest[..value_start]);
        let tail = &rest[value_start..];
        let value_end = tail
            .find(|c: char| c == '&' || c.is_whitespace() || matches!(c, '\'' | '"' | '`'))
            .unwrap_or(tail.len());
        out.push_str("<redacted>");
        rest = &tail[value_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_values_are_redacted_in_any_case_and_nothing_else_is() {
        assert_eq!(pin_values("PIN-VALUE=1 x"), "PIN-VALUE=<redacted> x");
        assert_eq!(pin_values("pin-value=1234"), "pin-value=<redacted>");
        assert_eq!(
            pin_values("pkcs11:token=t?pin-value=12%3B34&module-path=/m.so"),
            "pkcs11:token=t?pin-value=<redacted>&module-path=/m.so"
        );
        assert_eq!(pin_values("no pin here"), "no pin here");
    }
}
