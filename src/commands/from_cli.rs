//! The one conversion from clap's arguments to typed settings: each command calls it once, and
//! nothing after `commands` sees a clap struct.

use zeroize::Zeroizing;

use crate::cli::{
    ChainArgs, CredentialArgs, GenerateKeyArgs, KeyArgs, KeyTypeName, RenewArgs, RenewalArgs,
    ServeArgs, UpdateArgs,
};
use crate::error::{Error, Result};
use crate::settings::chain::ChainSettings;
use crate::settings::client::ClientOptions;
use crate::settings::credentials::{CacheSettings, CredentialSettings, RequestSettings};
use crate::settings::daemon::{ServeSettings, UpdateSettings};
use crate::settings::identity::{IdentitySpec, TpmKeyPassword};
use crate::settings::keys::{KeyDestination, KeyGenerationSpec, NewKeyType};
use crate::settings::renewal::{RenewSettings, RenewalSettings};

/// A Go-style optional boolean flag: absent is false.
fn flag(value: Option<bool>) -> bool {
    value == Some(true)
}

/// A path-like value: empty is absent, as in AWS's helper.
fn non_empty(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.is_empty())
}

fn secret(value: &Option<Zeroizing<String>>) -> Option<Zeroizing<String>> {
    value.clone()
}

/// Whether `value` is one of the process's own arguments (alone or as `--flag=value`), so that
/// every user of the machine can read it in /proc/PID/cmdline. Values that came from a profile of
/// the config file or from the environment are not.
fn on_command_line(value: &str) -> bool {
    !value.is_empty()
        && std::env::args_os()
            .skip(1)
            .take_while(|a| a != "--")
            .any(|arg| {
                arg.to_str().is_some_and(|arg| {
                    arg == value
                        || arg
                            .strip_suffix(value)
                            .is_some_and(|flag| flag.starts_with("--") && flag.ends_with('='))
                })
            })
}

/// The warnings of secrets given on the command line, until they are printed.
static SECRET_WARNINGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Prints the warnings of secrets given on the command line, if any (once: they are taken).
/// One-shot commands print them once they have succeeded, so a failure stays one line on
/// stderr; `serve` and `update` at their start.
pub fn print_secret_warnings() {
    let warnings = match SECRET_WARNINGS.lock() {
        Ok(mut warnings) => std::mem::take(&mut *warnings),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    for warning in warnings {
        tracing::warn!("{warning}");
    }
}

/// Notes, once per process and without the secret itself, each password, PIN or token given on
/// the command line, with the safer source (printed by [`print_secret_warnings`]).
fn warn_of_secrets_on_the_command_line(key: &KeyArgs, container_token: Option<&str>) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let ask = "leave it out to be asked on the terminal (not echoed)";
    let mut found: Vec<(&str, &str)> = Vec::new();
    for (flag, value) in [
        ("--pkcs8-password", &key.pkcs8_password),
        ("--pkcs12-password", &key.pkcs12_password),
        ("--tpm-key-password", &key.tpm_key_password),
    ] {
        if value.as_deref().is_some_and(|v| on_command_line(v)) {
            found.push((flag, ask));
        }
    }
    for uri in [&key.certificate, &key.private_key].into_iter().flatten() {
        let is_uri = crate::identity::pkcs11::is_pkcs11_uri(uri);
        if is_uri && uri.to_ascii_lowercase().contains("pin-value=") && on_command_line(uri) {
            found.push((
                "the pin-value of a pkcs11: URI",
                "use ?pin-source=FILE (a file only you can read), PKCS11_PIN, or the terminal prompt",
            ));
            break;
        }
    }
    if container_token.is_some_and(on_command_line) {
        found.push((
            "--container-token",
            "set ROLESANYWHERE_HELPER_CONTAINER_TOKEN instead (for example in a root-owned environment file), or leave it out for a random one written with --container-token-file",
        ));
    }
    if found.is_empty() {
        return;
    }
    WARNED.call_once(|| {
        let mut warnings = match SECRET_WARNINGS.lock() {
            Ok(warnings) => warnings,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (what, safer) in found {
            warnings.push(format!(
                "{what} is on the command line, where every user of this machine can read it (ps, /proc/PID/cmdline); {safer}"
            ));
        }
    });
}

/// The key flags as an identity spec; refuses what this build cannot do.
pub(crate) fn identity_spec(
    key: &KeyArgs,
    intermediates: Option<&std::path::Path>,
) -> Result<IdentitySpec> {
    if key.cert_selector.is_some()
        || key.system_store_name.is_some()
        || flag(key.use_latest_expiring_certificate)
    {
        return Err(Error::invalid_argument(
            "--cert-selector",
            "certificate stores exist only on Windows and macOS; on Linux give --certificate and --private-key",
        ));
    }
    warn_of_secrets_on_the_command_line(key, None);
    let certificate = non_empty(&key.certificate);
    if certificate
        .as_deref()
        .is_some_and(|c| c.starts_with("handle:"))
    {
        return Err(Error::invalid_argument(
            "--certificate",
            "a TPM handle holds a key, not a certificate; give the certificate file, and the handle as --private-key",
        ));
    }
    let tpm_key_password = match (&key.tpm_key_password, flag(key.no_tpm_key_password)) {
        (Some(_), true) => {
            return Err(Error::invalid_argument(
                "--no-tpm-key-password",
                "cannot be combined with --tpm-key-password; give one of them",
            ));
        }
        (Some(given), false) => TpmKeyPassword::Given(given.clone()),
        (None, true) => TpmKeyPassword::Empty,
        (None, false) => TpmKeyPassword::Unspecified,
    };
    Ok(IdentitySpec {
        certificate,
        private_key: non_empty(&key.private_key),
        intermediates: intermediates.map(Into::into),
        pkcs11_lib: non_empty(&key.pkcs11_lib),
        reuse_pin: flag(key.reuse_pin),
        tpm_key_password,
        pkcs8_password: secret(&key.pkcs8_password),
        pkcs12_password: secret(&key.pkcs12_password),
    })
}

/// `generate-key`'s flags as a key generation spec: the type, and exactly one destination.
pub(crate) fn key_generation(args: &GenerateKeyArgs) -> Result<KeyGenerationSpec> {
    let key_type = match args.key_type {
        KeyTypeName::EcP256 => NewKeyType::EcP256,
        KeyTypeName::EcP384 => NewKeyType::EcP384,
        KeyTypeName::Rsa2048 => NewKeyType::Rsa2048,
        KeyTypeName::Rsa3072 => NewKeyType::Rsa3072,
    };
    let out = args.out.clone().filter(|p| !p.as_os_str().is_empty());
    let pkcs11 = non_empty(&args.pkcs11);
    let tpm = flag(args.tpm);
    let one = "give exactly one destination: --out FILE, --tpm --out FILE, or --pkcs11 URI";
    if args.tpm_key_password.is_some() && !tpm {
        return Err(Error::invalid_argument("--tpm-key-password", "needs --tpm"));
    }
    if args.pkcs11_lib.is_some() && pkcs11.is_none() {
        return Err(Error::invalid_argument("--pkcs11-lib", "needs --pkcs11"));
    }
    let destination = match (out, tpm, pkcs11) {
        (Some(path), false, None) => KeyDestination::File(path),
        (Some(out), true, None) => KeyDestination::Tpm {
            out,
            password: secret(&args.tpm_key_password),
        },
        (None, true, None) => {
            return Err(Error::invalid_argument(
                "--tpm",
                "needs --out FILE for the TPM key file",
            ));
        }
        (None, false, Some(uri)) => KeyDestination::Pkcs11 {
            uri,
            module: non_empty(&args.pkcs11_lib),
        },
        (None, false, None) => return Err(Error::invalid_argument("generate-key", one)),
        (_, _, Some(_)) => return Err(Error::invalid_argument("--pkcs11", one)),
    };
    Ok(KeyGenerationSpec {
        key_type,
        destination,
    })
}

/// The request flags, as typed (checked by [`RequestSettings::validate`]).
pub(crate) fn request(args: &CredentialArgs) -> RequestSettings {
    RequestSettings {
        trust_anchor_arn: args.trust_anchor_arn.clone(),
        profile_arn: args.profile_arn.clone(),
        role_arn: args.role_arn.clone(),
        region: args.region.clone(),
        session_duration: args.session_duration,
        role_session_name: args.role_session_name.clone(),
        chain: chain(&args.chain),
    }
}

/// The role-chaining flags, as typed (checked with the request).
fn chain(args: &ChainArgs) -> ChainSettings {
    ChainSettings {
        assume_role_arn: non_empty(&args.assume_role_arn),
        external_id: args.external_id.clone(),
        session_name: args.assume_role_session_name.clone(),
        session_tags: args.session_tag.clone(),
        transitive_tag_keys: args.transitive_tag_key.clone(),
        duration: args.assume_role_duration,
        sts_endpoint: non_empty(&args.sts_endpoint),
    }
}

/// The client options a command line implies: `--no-verify-ssl` and `AWS_CA_BUNDLE`.
pub(crate) fn client_options(args: &CredentialArgs) -> ClientOptions {
    ClientOptions {
        no_verify_ssl: flag(args.no_verify_ssl),
        ca_bundle: std::env::var_os("AWS_CA_BUNDLE")
            .filter(|v| !v.is_empty())
            .map(Into::into),
        ..Default::default()
    }
}

/// Every setting of a credential-fetching command.
pub(crate) fn credential_settings(args: &CredentialArgs) -> Result<CredentialSettings> {
    Ok(CredentialSettings {
        identity: identity_spec(&args.key, args.intermediates.as_deref())?,
        request: request(args),
        endpoint: args.endpoint.clone(),
        client: client_options(args),
        cache: CacheSettings {
            enabled: crate::credentials::cache::enabled(args.cache),
            directory: args.cache_dir.clone(),
        },
    })
}

/// `serve`'s settings.
pub(crate) fn serve_settings(args: &ServeArgs) -> Result<ServeSettings> {
    warn_of_secrets_on_the_command_line(
        &args.credentials.key,
        args.container_token.as_deref().map(String::as_str),
    );
    let credentials = credential_settings(&args.credentials)?;
    if let Some(token) = &args.container_token {
        crate::settings::daemon::check_container_token(token)?;
    }
    print_secret_warnings();
    let renewal = renewal(&args.renewal, &credentials.identity)?;
    Ok(ServeSettings {
        credentials,
        renewal,
        port: args.port,
        hop_limit: args.hop_limit,
        bind: args.bind.clone(),
        container_token: secret(&args.container_token),
        container_token_file: args.container_token_file.clone(),
        container_token_file_mode: crate::settings::daemon::token_file_mode(
            &args.container_token_file_mode,
        )?,
    })
}

/// `update`'s settings.
pub(crate) fn update_settings(args: &UpdateArgs) -> Result<UpdateSettings> {
    let credentials = credential_settings(&args.credentials)?;
    let renewal = renewal(&args.renewal, &credentials.identity)?;
    print_secret_warnings();
    Ok(UpdateSettings {
        credentials,
        renewal,
        profile: args.profile.clone(),
        once: flag(args.once),
    })
}

/// The renewal flags, checked against the identity they renew (a certificate file, a key of
/// its own); `None` without `--renew-command`.
pub(crate) fn renewal(
    args: &RenewalArgs,
    identity: &IdentitySpec,
) -> Result<Option<RenewalSettings>> {
    let renewal = RenewalSettings::from_flags(
        args.renew_command.as_deref(),
        args.renew_before.as_deref(),
        args.renew_timeout.as_deref(),
    )?;
    if renewal.is_some() {
        crate::settings::renewal::check_certificate_is_a_file(identity)?;
    }
    Ok(renewal)
}

/// `renew`'s settings: `--renew-command` is required.
pub(crate) fn renew_settings(args: &RenewArgs) -> Result<RenewSettings> {
    let identity = identity_spec(&args.key, args.intermediates.as_deref())?;
    let Some(renewal) = renewal(&args.renewal, &identity)? else {
        return Err(Error::invalid_argument(
            "--renew-command",
            "is required; give the command that turns a certificate request into a certificate (examples: docs/edge.md)",
        ));
    };
    print_secret_warnings();
    Ok(RenewSettings { identity, renewal })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tpm_password_flags_are_a_usage_error() {
        let key = KeyArgs {
            tpm_key_password: Some(Zeroizing::new("x".into())),
            no_tpm_key_password: Some(true),
            ..KeyArgs::default()
        };
        let error = identity_spec(&key, None).err().map(|e| e.exit_code());
        assert_eq!(error, Some(2));
    }

    #[test]
    fn empty_paths_are_absent_as_in_aws_helper() {
        let key = KeyArgs {
            certificate: Some(String::new()),
            private_key: Some("key.pem".into()),
            ..KeyArgs::default()
        };
        let spec = identity_spec(&key, None).unwrap();
        assert_eq!(spec.certificate, None);
        assert_eq!(spec.private_key.as_deref(), Some("key.pem"));
    }
}
