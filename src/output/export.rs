//! Credentials printed for other programs, in the AWS CLI's `configure export-credentials`
//! formats.

use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::support::timestamp::iso8601;

/// The environment variables the SDKs read, with their values.
pub(crate) fn variables<'a>(
    credentials: &'a Credentials,
    expiration: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id.as_str()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key.as_str(),
        ),
        ("AWS_SESSION_TOKEN", credentials.session_token.as_str()),
        ("AWS_CREDENTIAL_EXPIRATION", expiration),
    ]
}

/// Quotes for POSIX shells: single quotes, with `'` written as `'\''`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `export NAME='value'` lines for POSIX shells.
    Env,
    /// `NAME='value'` lines (for `.env` files and `env` prefixes).
    EnvNoExport,
    /// `$Env:NAME="value"` lines.
    Powershell,
    /// `set -gx NAME 'value'` lines.
    Fish,
    /// The credential_process JSON document.
    Json,
    /// A profile section for the shared credentials file.
    Ini,
}

/// The credentials in `format`, ending with a newline; `profile` names the `ini` section.
pub fn format(credentials: &Credentials, format: ExportFormat, profile: &str) -> Zeroizing<String> {
    let expiration = iso8601(credentials.expiration);
    let variables = variables(credentials, &expiration);
    let mut out = Zeroizing::new(String::new());
    match format {
        ExportFormat::Env | ExportFormat::EnvNoExport => {
            let prefix = if format == ExportFormat::Env {
                "export "
            } else {
                ""
            };
            for (name, value) in variables {
                out.push_str(&format!("{prefix}{name}={}\n", shell_quote(value)));
            }
        }
        ExportFormat::Fish => {
            for (name, value) in variables {
                out.push_str(&format!("set -gx {name} {}\n", shell_quote(value)));
            }
        }
        ExportFormat::Powershell => {
            for (name, value) in variables {
                out.push_str(&format!(
                    "$Env:{name}=\"{}\"\n",
                    value.replace('`', "``").replace('"', "`\"")
                ));
            }
        }
        ExportFormat::Json => {
            out.push_str(&crate::output::credential_process_json(credentials));
            out.push('\n');
        }
        ExportFormat::Ini => {
            out.push_str(&format!(
                "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
                credentials.access_key_id, credentials.secret_access_key, credentials.session_token
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "se'cr\"et`".into(),
            session_token: "tok/en+==".into(),
            expiration: time::macros::datetime!(2026-11-26 09:00:00 UTC),
        }
    }

    #[test]
    fn quotes_values_for_each_shell() {
        let env = format(&credentials(), ExportFormat::Env, "default");
        assert!(
            env.contains("export AWS_SECRET_ACCESS_KEY='se'\\''cr\"et`'\n"),
            "{}",
            *env
        );
        assert!(env.contains("export AWS_CREDENTIAL_EXPIRATION='2026-11-26T09:00:00Z'\n"));
        let plain = format(&credentials(), ExportFormat::EnvNoExport, "default");
        assert!(plain.starts_with("AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\n"));
        let ps = format(&credentials(), ExportFormat::Powershell, "default");
        assert!(
            ps.contains("$Env:AWS_SECRET_ACCESS_KEY=\"se'cr`\"et``\"\n"),
            "{}",
            *ps
        );
        let ini = format(&credentials(), ExportFormat::Ini, "ci");
        assert!(ini.starts_with("[ci]\naws_access_key_id = ASIAEXAMPLE\n"));
    }
}
