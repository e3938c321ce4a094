//! Credentials printed for other programs, in the AWS CLI's `configure export-credentials`
//! formats.

use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::error::Result;
use crate::output::credentials_file::check_values;
use crate::support::aws_files::check_section_name;
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

/// Quotes for POSIX shells: single quotes, with `'` written as `'\''`. Inside single quotes
/// every other character is literal (POSIX.1-2017, 2.2.2), newlines and backslashes included.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Quotes for fish: single quotes, inside which fish gives meaning to exactly two escapes,
/// `\'` and `\\` (fish's documentation, "Quotes"). So every `\` is written `\\` and every `'`
/// is written `\'`: a value ending in `\` cannot escape the closing quote.
fn fish_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// PowerShell's single-quote characters: the ASCII one and the typographic ones its parser
/// also takes as single quotes (about_Quoting_Rules; the language specification's
/// single-quote-character: U+0027, U+2018, U+2019, U+201A, U+201B).
const POWERSHELL_SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// Quotes for PowerShell: a verbatim (single-quoted) string, in which nothing is expanded (no
/// `$variable`, `$(...)` or backtick escape) and a single-quote character is written twice.
fn powershell_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if POWERSHELL_SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `export NAME='value'` lines for POSIX shells.
    Env,
    /// `NAME='value'` lines (for `.env` files and `env` prefixes).
    EnvNoExport,
    /// `$Env:NAME='value'` lines.
    Powershell,
    /// `set -gx NAME 'value'` lines.
    Fish,
    /// The credential_process JSON document.
    Json,
    /// A profile section for the shared credentials file.
    Ini,
}

/// The credentials in `format`, ending with a newline; `profile` names the `ini` section. The
/// `ini` format refuses a profile name or a value that would break the INI structure.
pub fn format(
    credentials: &Credentials,
    format: ExportFormat,
    profile: &str,
) -> Result<Zeroizing<String>> {
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
                out.push_str(&format!("set -gx {name} {}\n", fish_quote(value)));
            }
        }
        ExportFormat::Powershell => {
            for (name, value) in variables {
                out.push_str(&format!("$Env:{name}={}\n", powershell_quote(value)));
            }
        }
        ExportFormat::Json => {
            out.push_str(&crate::output::credential_process_json(credentials));
            out.push('\n');
        }
        ExportFormat::Ini => {
            check_section_name("--ini-profile", profile)?;
            check_values(credentials)?;
            out.push_str(&format!(
                "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
                credentials.access_key_id, credentials.secret_access_key, credentials.session_token
            ));
        }
    }
    Ok(out)
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
        let env = format(&credentials(), ExportFormat::Env, "default").unwrap();
        assert!(
            env.contains("export AWS_SECRET_ACCESS_KEY='se'\\''cr\"et`'\n"),
            "{}",
            *env
        );
        assert!(env.contains("export AWS_CREDENTIAL_EXPIRATION='2026-11-26T09:00:00Z'\n"));
        let plain = format(&credentials(), ExportFormat::EnvNoExport, "default").unwrap();
        assert!(plain.starts_with("AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\n"));
        // A verbatim string: nothing in it is expanded, `'` is written twice.
        let ps = format(&credentials(), ExportFormat::Powershell, "default").unwrap();
        assert!(
            ps.contains("$Env:AWS_SECRET_ACCESS_KEY='se''cr\"et`'\n"),
            "{}",
            *ps
        );
        let fish = format(&credentials(), ExportFormat::Fish, "default").unwrap();
        assert!(
            fish.contains("set -gx AWS_SECRET_ACCESS_KEY 'se\\'cr\"et`'\n"),
            "{}",
            *fish
        );
        let ini = format(&credentials(), ExportFormat::Ini, "ci").unwrap();
        assert!(ini.starts_with("[ci]\naws_access_key_id = ASIAEXAMPLE\n"));
    }

    /// Strings that break out of naive quoting: a trailing backslash before a crafted token,
    /// command substitutions, backticks, quotes of every kind, newlines, CR and control
    /// characters. The answer's checks refuse them all; the quoting must hold even so.
    const HOSTILE: &[&str] = &[
        "abc\\",
        "abc\\'; touch pwned; echo '",
        "x\\' ; touch pwned ; echo \\'",
        "$(touch pwned)",
        "`touch pwned`",
        "${HOME}$HOME%PATH%",
        "'\\''$(touch pwned)'\\''",
        "\"; touch pwned; echo \"",
        "line one\nline two; touch pwned",
        "carriage\rreturn",
        "bell\u{7}escape\u{1b}[2Jdel\u{7f}",
        "\u{2018}\u{2019}\u{201a}\u{201b}$(touch pwned)'",
        "(touch pwned); {touch pwned}; [x]",
        "!!*?~#",
    ];

    fn with_secret(secret: &str) -> Credentials {
        let mut credentials = credentials();
        credentials.secret_access_key = secret.into();
        credentials
    }

    /// Sources `script` in `shell` and prints `$AWS_SECRET_ACCESS_KEY` byte for byte; fails the
    /// test if anything in the script ran a command (made `pwned`).
    fn read_back(shell: &str, script: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exported");
        std::fs::write(&path, script).unwrap();
        let program = match shell {
            "fish" => "source exported; printf '%s' $AWS_SECRET_ACCESS_KEY",
            _ => ". ./exported; printf '%s' \"$AWS_SECRET_ACCESS_KEY\"",
        };
        let mut command = std::process::Command::new(shell);
        if shell == "fish" {
            command.arg("--no-config");
        }
        let output = command
            .args(["-c", program])
            .current_dir(dir.path())
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {shell} (./scripts/test.sh installs it): {e}"));
        assert!(
            output.status.success(),
            "{shell} failed on {script:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !dir.path().join("pwned").exists(),
            "{shell} ran a command from {script:?}"
        );
        output.stdout
    }

    #[test]
    fn hostile_values_read_back_as_themselves_in_sh_bash_and_fish() {
        let cases = [
            ("dash", ExportFormat::Env),
            ("bash", ExportFormat::Env),
            ("dash", ExportFormat::EnvNoExport),
            ("bash", ExportFormat::EnvNoExport),
            ("fish", ExportFormat::Fish),
        ];
        let mut failures = Vec::new();
        for value in HOSTILE {
            for (shell, export_format) in cases {
                let script = format(&with_secret(value), export_format, "default").unwrap();
                let got = read_back(shell, &script);
                if got != value.as_bytes() {
                    failures.push(format!(
                        "{shell} {export_format:?} {value:?}: read back {:?}",
                        String::from_utf8_lossy(&got)
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    /// PowerShell's verbatim string, as its language specification defines it (2.3.5.2,
    /// verbatim-string-literal): a single-quote character opens it; inside, two single-quote
    /// characters in a row stand for the second, any other character for itself; a lone
    /// single-quote character closes it. Returns the value and what follows the string.
    fn parse_powershell_verbatim(text: &str) -> (String, &str) {
        let mut chars = text.char_indices().peekable();
        let (_, first) = chars.next().unwrap();
        assert!(POWERSHELL_SINGLE_QUOTES.contains(&first), "{text:?}");
        let mut value = String::new();
        while let Some((at, c)) = chars.next() {
            if POWERSHELL_SINGLE_QUOTES.contains(&c) {
                match chars.peek() {
                    Some(&(_, next)) if POWERSHELL_SINGLE_QUOTES.contains(&next) => {
                        value.push(next);
                        chars.next();
                    }
                    _ => return (value, &text[at + c.len_utf8()..]),
                }
            } else {
                value.push(c);
            }
        }
        panic!("unterminated verbatim string: {text:?}");
    }

    #[test]
    fn hostile_values_are_single_verbatim_strings_in_powershell() {
        for value in HOSTILE {
            let script = format(&with_secret(value), ExportFormat::Powershell, "default").unwrap();
            let start = script.find("$Env:AWS_SECRET_ACCESS_KEY=").unwrap()
                + "$Env:AWS_SECRET_ACCESS_KEY=".len();
            let (parsed, rest) = parse_powershell_verbatim(&script[start..]);
            assert_eq!(parsed, *value);
            // The string ends the statement: nothing after it runs.
            assert!(rest.starts_with("\n$Env:AWS_SESSION_TOKEN="), "{rest:?}");
        }
    }

    #[test]
    fn the_ini_format_refuses_what_would_break_its_structure() {
        for bad in ["a\nb", "x\r[evil]", "", " padded"] {
            let error = format(&with_secret(bad), ExportFormat::Ini, "ci").unwrap_err();
            assert!(
                error.to_string().contains("aws_secret_access_key"),
                "{error}"
            );
        }
        for profile in ["]\n[evil", "a]b", "", "x\ry"] {
            let error = format(&credentials(), ExportFormat::Ini, profile).unwrap_err();
            assert!(error.to_string().starts_with("--ini-profile"), "{error}");
        }
    }
}
