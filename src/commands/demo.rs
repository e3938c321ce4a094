//! `demo`: the whole flow on this machine, with no AWS account. A throwaway CA and client
//! certificate, a local Roles Anywhere endpoint trusting that CA, and the real
//! `credential-process` path against it; then what the endpoint verified, and the line to put in
//! `~/.aws/config` for a real setup.
//!
//! Everything lives in a private temporary directory (0700, keys 0600) removed at the end.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::cli::{DemoArgs, DemoKeyType};
use crate::error::{Error, Result};
use crate::settings::client::ClientOptions;
use crate::settings::credentials::{CacheSettings, CredentialSettings, RequestSettings};
use crate::settings::identity::IdentitySpec;
use rolesanywhere_testbed::pki::{Authority, CertSpec, GeneratedKey, KeyKind};
use rolesanywhere_testbed::{EndpointConfig, Outcome, VerificationRecord};

/// The demo's trust anchor.
pub const DEMO_TRUST_ANCHOR_ARN: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/demo-trust-anchor";
/// The demo's profile.
pub const DEMO_PROFILE_ARN: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:profile/demo-profile";
/// The role the demo's profile allows.
pub const DEMO_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/demo-role";
/// The common name of the demo's throwaway CA.
pub const DEMO_CA_NAME: &str = "rolesanywhere-helper demo root CA";
/// The common name of the demo's client certificate.
pub const DEMO_LEAF_NAME: &str = "rolesanywhere-helper demo client";

/// A directory removed, with everything in it, when dropped.
pub struct PrivateTempDir {
    path: PathBuf,
}

impl PrivateTempDir {
    /// Creates `<tmp>/rolesanywhere-helper-demo-<random>` readable by the owner only.
    pub fn create() -> Result<PrivateTempDir> {
        let suffix = hex::encode(crate::support::random::bytes(8)?);
        let path = std::env::temp_dir().join(format!("rolesanywhere-helper-demo-{suffix}"));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path).map_err(|e| {
            Error::Internal(format!(
                "creating the temporary directory {}: {e}",
                path.display()
            ))
        })?;
        Ok(PrivateTempDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a new file in the directory with the given Unix mode.
    pub fn write(&self, name: &str, contents: &[u8], mode: u32) -> Result<PathBuf> {
        use std::io::Write as _;
        let path = self.path.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        options
            .open(&path)
            .and_then(|mut file| file.write_all(contents))
            .map_err(|e| Error::Internal(format!("writing {}: {e}", path.display())))?;
        Ok(path)
    }
}

impl Drop for PrivateTempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The throwaway-PKI key kind of a demo key type.
pub fn key_kind(key_type: DemoKeyType) -> KeyKind {
    match key_type {
        DemoKeyType::EcP256 => KeyKind::EcP256,
        DemoKeyType::EcP384 => KeyKind::EcP384,
        DemoKeyType::Rsa2048 => KeyKind::Rsa(2048),
    }
}

/// The demo's throwaway PKI, all PEM.
pub struct DemoPki {
    /// The CA certificate (PEM).
    pub ca_cert_pem: String,
    /// The client certificate (PEM).
    pub leaf_cert_pem: String,
    /// The client's private key (PKCS#8 PEM).
    pub leaf_key_pem: Zeroizing<String>,
}

/// A P-256 root CA and a client certificate (CA:false, digitalSignature, clientAuth) with a
/// `key_type` key, valid from a minute ago for the throwaway PKI's default span (long enough
/// that the helper has no expiry warning to give).
pub fn make_pki(key_type: DemoKeyType) -> Result<DemoPki> {
    let now = time::OffsetDateTime::now_utc();
    let ca = Authority::root(DEMO_CA_NAME)?;
    let key = GeneratedKey::generate(key_kind(key_type))?;
    let spec = CertSpec {
        not_before: now - time::Duration::minutes(1),
        ..CertSpec::leaf(DEMO_LEAF_NAME)
    };
    let leaf = ca.issue(&spec, &key.spki_der)?;
    Ok(DemoPki {
        ca_cert_pem: ca.cert_pem(),
        leaf_cert_pem: leaf.pem,
        leaf_key_pem: key.pkcs8_pem(),
    })
}

/// The settings `credential-process` would have for a certificate and key files, the ARNs, an
/// endpoint and client options; everything else as its defaults.
pub fn credential_settings(
    certificate: &Path,
    private_key: &Path,
    trust_anchor_arn: &str,
    profile_arn: &str,
    role_arn: &str,
    endpoint: &str,
    client: ClientOptions,
) -> CredentialSettings {
    CredentialSettings {
        identity: IdentitySpec {
            certificate: Some(certificate.to_string_lossy().into_owned()),
            private_key: Some(private_key.to_string_lossy().into_owned()),
            ..IdentitySpec::default()
        },
        request: RequestSettings {
            trust_anchor_arn: trust_anchor_arn.into(),
            profile_arn: profile_arn.into(),
            role_arn: role_arn.into(),
            ..RequestSettings::default()
        },
        endpoint: Some(endpoint.into()),
        client,
        cache: CacheSettings::default(),
    }
}

/// Runs the demo; the output (credentials first) goes to stdout.
pub fn run(args: &DemoArgs) -> Result<Zeroizing<String>> {
    let dir = PrivateTempDir::create()?;
    let pki = make_pki(args.key_type)?;
    dir.write("demo-root-ca.pem", pki.ca_cert_pem.as_bytes(), 0o644)?;
    let cert_path = dir.write("client-cert.pem", pki.leaf_cert_pem.as_bytes(), 0o644)?;
    let key_path = dir.write("client-key.pem", pki.leaf_key_pem.as_bytes(), 0o600)?;

    let endpoint = rolesanywhere_testbed::start(EndpointConfig::new(
        pki.ca_cert_pem.as_bytes(),
        DEMO_TRUST_ANCHOR_ARN,
        DEMO_PROFILE_ARN,
        vec![DEMO_ROLE_ARN.to_string()],
    ))?;
    let tls_ca = endpoint
        .tls_ca_pem()
        .ok_or_else(|| Error::Internal("the local endpoint made no TLS CA".into()))?;
    let tls_ca_path = dir.write("endpoint-tls-ca.pem", tls_ca.as_bytes(), 0o644)?;

    let settings = credential_settings(
        &cert_path,
        &key_path,
        DEMO_TRUST_ANCHOR_ARN,
        DEMO_PROFILE_ARN,
        DEMO_ROLE_ARN,
        &endpoint.url(),
        ClientOptions {
            ca_bundle: Some(tls_ca_path),
            ..Default::default()
        },
    );
    let (credentials, info) = crate::credentials::one_shot::fetch(&settings)?;
    let records = endpoint.records();
    let url = endpoint.url();
    endpoint.shutdown();
    let record = records
        .iter()
        .rev()
        .find(|r| r.outcome == Outcome::Issued)
        .ok_or_else(|| Error::Internal("the local endpoint recorded no issued session".into()))?;

    let mut out = Zeroizing::new(String::new());
    out.push_str(&crate::output::credential_process_json(&credentials));
    out.push('\n');
    out.push_str(&report(
        record,
        &url,
        info.assumed_role_arn.as_deref(),
        args.key_type,
    ));
    Ok(out)
}

fn key_type_name(key_type: DemoKeyType) -> &'static str {
    match key_type {
        DemoKeyType::EcP256 => "EC P-256",
        DemoKeyType::EcP384 => "EC P-384",
        DemoKeyType::Rsa2048 => "RSA 2048",
    }
}

/// The human-readable account of what the endpoint verified (no secret in it).
fn report(
    record: &VerificationRecord,
    url: &str,
    assumed_role: Option<&str>,
    key_type: DemoKeyType,
) -> String {
    let mut out = String::new();
    let na = "?";
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "The credentials above are fake: they came from a local Roles Anywhere endpoint ({url}), which verified:"
    );
    let _ = writeln!(
        out,
        "  algorithm       {}",
        record.algorithm.as_deref().unwrap_or(na)
    );
    let _ = writeln!(
        out,
        "  certificate     serial {} (decimal), subject {}, {} key",
        record.serial.as_deref().unwrap_or(na),
        record.leaf_subject.as_deref().unwrap_or(na),
        record.key.as_deref().unwrap_or(key_type_name(key_type))
    );
    let mut chain = vec!["client certificate".to_string()];
    chain.extend(record.path_subjects.iter().cloned());
    chain.push(format!(
        "{} (trust anchor)",
        record.trust_anchor_subject.as_deref().unwrap_or(na)
    ));
    let _ = writeln!(out, "  chain           {}", chain.join(" -> "));
    let _ = writeln!(out, "  signed headers  {}", record.signed_headers.join(";"));
    let _ = writeln!(
        out,
        "  clock skew      {}s (X-Amz-Date {}; up to 300s accepted)",
        record.clock_skew_seconds.unwrap_or_default(),
        record.amz_date.as_deref().unwrap_or(na)
    );
    let _ = writeln!(
        out,
        "  session         {} for {}s, access key {}",
        assumed_role.unwrap_or(na),
        record.duration_seconds.unwrap_or_default(),
        record.access_key_id.as_deref().unwrap_or(na)
    );
    let _ = writeln!(out, "  string to sign:");
    for line in record.string_to_sign.as_deref().unwrap_or(na).lines() {
        let _ = writeln!(out, "      {line}");
    }
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .filter(|p| !p.contains(' '))
        .unwrap_or_else(|| "rolesanywhere-helper".to_string());
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "For your own setup, put this in ~/.aws/config (with your certificate, key and ARNs):"
    );
    let _ = writeln!(out, "  [profile my-role]");
    let _ = writeln!(
        out,
        "  credential_process = {exe} credential-process --certificate /path/to/cert.pem --private-key /path/to/key.pem --trust-anchor-arn arn:aws:rolesanywhere:REGION:ACCOUNT:trust-anchor/ID --profile-arn arn:aws:rolesanywhere:REGION:ACCOUNT:profile/ID --role-arn arn:aws:iam::ACCOUNT:role/NAME"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_end_to_end_for_every_key_type() {
        for key_type in [
            DemoKeyType::EcP256,
            DemoKeyType::EcP384,
            DemoKeyType::Rsa2048,
        ] {
            let output = run(&DemoArgs { key_type }).unwrap();
            let mut lines = output.lines();
            let first: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
            assert_eq!(first["Version"], 1);
            assert!(first["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
            let secret = first["SecretAccessKey"].as_str().unwrap();
            let token = first["SessionToken"].as_str().unwrap();
            let rest: String = lines.collect::<Vec<_>>().join("\n");
            assert!(
                !rest.contains(secret) && !rest.contains(token),
                "the report must not repeat secrets"
            );
            let algorithm = if key_type == DemoKeyType::Rsa2048 {
                "AWS4-X509-RSA-SHA256"
            } else {
                "AWS4-X509-ECDSA-SHA256"
            };
            assert!(rest.contains(algorithm), "{rest}");
            assert!(rest.contains(DEMO_CA_NAME), "{rest}");
            assert!(rest.contains("credential_process = "), "{rest}");
        }
    }

    #[test]
    fn temp_dir_is_private_and_removed() {
        let dir = PrivateTempDir::create().unwrap();
        let path = dir.path().to_path_buf();
        let key = dir.write("k.pem", b"secret", 0o600).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o700
            );
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        drop(dir);
        assert!(!path.exists());
    }
}
