//! Keys born where they stay, end to end: generate-key into a file, a TPM (swtpm) or a token
//! (SoftHSM2), csr signed by that key and checked by openssl, the request certified by a test CA
//! (`openssl x509 -req`), and credential-process accepted by the local endpoint with the new
//! certificate's serial. Also: nothing is ever overwritten, and bad subjects are refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::*;

/// A throwaway openssl CA in a private temp dir, issuing Roles Anywhere leaves from requests.
struct TestCa {
    dir: tempfile::TempDir,
    ca: OpensslCa,
    serial: std::cell::Cell<u32>,
}

impl TestCa {
    fn new() -> TestCa {
        let dir = tempfile::Builder::new().prefix("rah-ca").tempdir().unwrap();
        let ca = OpensslCa::create(dir.path(), "/CN=Enrollment Test CA", 2);
        TestCa {
            dir,
            ca,
            serial: std::cell::Cell::new(0x5e11_0000),
        }
    }

    fn ca_pem(&self) -> PathBuf {
        self.ca.cert.clone()
    }

    /// Issues a certificate for the request at `csr` (SANs copied), with a fresh serial;
    /// returns its path and its serial in decimal.
    fn issue(&self, csr: &Path, name: &str) -> (PathBuf, String) {
        let serial = self.serial.get() + 1;
        self.serial.set(serial);
        let out = self.dir.path().join(format!("{name}.pem"));
        openssl(
            &[
                "x509",
                "-req",
                "-days",
                "1",
                "-copy_extensions",
                "copy",
                "-extensions",
                "leaf",
                "-set_serial",
                &serial.to_string(),
                "-in",
            ],
            &[
                csr,
                Path::new("-CA"),
                &self.ca.cert,
                Path::new("-CAkey"),
                &self.ca.key,
                Path::new("-extfile"),
                &self.ca.extensions,
                Path::new("-out"),
                &out,
            ],
        );
        (out, serial.to_string())
    }
}

/// `csr` for `key` (plus `extra` flags), checked by `openssl req -verify`; returns its path.
fn request(helper: Helper, key: &str, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(format!("{name}.csr"));
    let output = helper
        .args([
            "--private-key",
            key,
            "--subject",
            &format!("CN={name},OU=edge,O=Example Corp,C=US"),
        ])
        .args([
            "--dns",
            &format!("{name}.example.com"),
            "--uri",
            "spiffe://example.org/device",
        ])
        .args(["--ip", "192.0.2.7", "--out"])
        .arg(&out)
        .output();
    assert!(output.status.success(), "{name}: csr: {}", stderr(&output));
    assert!(output.stdout.is_empty(), "{name}: csr --out prints nothing");
    let text = openssl(&["req", "-verify", "-noout", "-text", "-in"], &[&out]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    for expected in [
        format!("Subject: C = US, O = Example Corp, OU = edge, CN = {name}"),
        format!("DNS:{name}.example.com, URI:spiffe://example.org/device, IP Address:192.0.2.7"),
    ] {
        assert!(
            text.contains(&expected),
            "{name}: {expected:?} not in:\n{text}"
        );
    }
    out
}

/// credential-process with the new certificate and key; asserts the endpoint saw `serial`.
fn accepted(
    helper: Helper,
    endpoint: &LocalEndpoint,
    cert: &Path,
    key: &str,
    serial: &str,
    what: &str,
) {
    let output = helper.endpoint(endpoint).key_pair(cert, key).output();
    assert!(output.status.success(), "{what}: {}", stderr(&output));
    parse_credential_process(&output);
    let record = endpoint
        .records()
        .pop()
        .expect("the endpoint saw the request");
    assert_eq!(
        record["serial"], serial,
        "{what}: the endpoint saw the new certificate"
    );
}

fn generated(output: std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: generate-key: {}",
        stderr(&output)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[test]
fn file_keys_of_every_type_are_certified_and_accepted() {
    let ca = TestCa::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &ca.ca_pem(), &[]);
    let dir = ca.dir.path();
    let mut table = Table::new("file keys");
    for key_type in ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072"] {
        table.row(key_type, || {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(format!("{key_type}.key"));
            let printed = generated(
                Helper::command("generate-key")
                    .args(["--key-type", key_type, "--out"])
                    .arg(&path)
                    .output(),
                key_type,
            );
            assert_eq!(printed, path.to_str().unwrap());
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{key_type}: key file mode");
            let key = path.to_str().unwrap();
            let csr = request(Helper::command("csr"), key, dir, key_type);
            let (cert, serial) = ca.issue(&csr, key_type);
            accepted(
                Helper::command("credential-process"),
                &endpoint,
                &cert,
                key,
                &serial,
                key_type,
            );
        });
    }
    table.assert_all_passed();
}

#[test]
fn tpm_keys_are_made_under_the_storage_key_certified_accepted_and_loaded_by_tpm2_openssl() {
    let ca = TestCa::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &ca.ca_pem(), &[]);
    // A fresh TPM has no persistent storage key: the owner hierarchy's primary (0x40000001).
    // The fixture's TPM persists one at 0x81000001: the keys are made under it.
    let bare = Swtpm::start(true);
    let provisioned = Swtpm::start(false);
    let cases: [(&Swtpm, &str, Option<&str>, &str); 4] = [
        (&bare, "ec-p256", None, "40000001"),
        (&bare, "rsa-3072", None, "40000001"),
        (&provisioned, "ec-p384", Some("s3cret"), "81000001"),
        (&provisioned, "rsa-2048", None, "81000001"),
    ];
    let mut table = Table::new("TPM keys");
    for (tpm, key_type, password, parent) in cases {
        let what = format!("{key_type} under {parent}");
        table.row(&what, || {
            let path = ca.dir.path().join(format!("tpm-{key_type}.tss2"));
            let mut generate = tpm
                .command("generate-key")
                .args(["--tpm", "--key-type", key_type, "--out"])
                .arg(&path);
            if let Some(p) = password {
                generate = generate.args(["--tpm-key-password", p]);
            }
            generated(generate.limit(Duration::from_secs(300)).output(), &what);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("-----BEGIN TSS2 PRIVATE KEY-----\n"),
                "{what}"
            );
            let parsed = openssl(&["asn1parse", "-in"], &[&path]);
            assert!(
                String::from_utf8_lossy(&parsed.stdout)
                    .to_uppercase()
                    .contains(parent),
                "{what}: the key file's parent"
            );
            let key = path.to_str().unwrap();
            let with_password = |h: Helper| match password {
                Some(p) => h.tpm_key_password(p),
                None => h,
            };
            let csr = request(
                with_password(tpm.command("csr")),
                key,
                ca.dir.path(),
                &format!("tpm-{key_type}"),
            );
            // tpm2-openssl loads the file and finds the public key the request carries.
            let mut pkey = Command::new("openssl");
            pkey.args([
                "pkey",
                "-provider",
                "tpm2",
                "-provider",
                "default",
                "-pubout",
                "-in",
            ])
            .arg(&path)
            .env("TPM2OPENSSL_TCTI", tpm.tcti())
            .env("TSS2_LOG", "all+none");
            if let Some(p) = password {
                pkey.args(["-passin", &format!("pass:{p}")]);
            }
            let loaded = run_bounded(&mut pkey, Duration::from_secs(120));
            assert!(
                loaded.status.success(),
                "{what}: tpm2-openssl: {}",
                stderr(&loaded)
            );
            let from_request = openssl(&["req", "-noout", "-pubkey", "-in"], &[&csr]);
            assert_eq!(
                loaded.stdout, from_request.stdout,
                "{what}: tpm2-openssl's public key"
            );
            let (cert, serial) = ca.issue(&csr, &format!("tpm-{key_type}"));
            accepted(
                with_password(tpm.command("credential-process")),
                &endpoint,
                &cert,
                key,
                &serial,
                &what,
            );
        });
    }
    table.assert_all_passed();
    assert_eq!(bare.transient_handles(), "", "nothing left loaded");
}

#[test]
fn token_keys_are_generated_sensitive_and_never_extractable_certified_and_accepted() {
    let token = Token::new();
    let ca = TestCa::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &ca.ca_pem(), &[]);
    let mut table = Table::new("token keys");
    for (index, key_type) in ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072"]
        .into_iter()
        .enumerate()
    {
        table.row(key_type, || {
            let label = format!("born-{key_type}");
            let uri = format!("{};id=%7{index}", token.uri(&label));
            let printed = generated(
                token
                    .command_with_module("generate-key")
                    .env("PKCS11_PIN", PIN)
                    .args(["--key-type", key_type, "--pkcs11", &uri])
                    .output(),
                key_type,
            );
            assert!(
                printed.starts_with("pkcs11:") && printed.contains(&label),
                "{printed}"
            );
            assert!(!printed.contains("pin-value"), "{printed}");
            let listed = token.list_objects(&["--type", "privkey", "--label", &label]);
            for attribute in ["never extractable", "sensitive", "sign"] {
                assert!(
                    listed.contains(attribute),
                    "{key_type}: {attribute:?} not in:\n{listed}"
                );
            }
            let dir = ca.dir.path();
            let csr = request(
                token.command_with_module("csr").env("PKCS11_PIN", PIN),
                &printed,
                dir,
                &label,
            );
            let (cert, serial) = ca.issue(&csr, &label);
            let cert_text = cert.to_str().unwrap().to_string();
            accepted(
                token
                    .command_with_module("credential-process")
                    .env("PKCS11_PIN", PIN),
                &endpoint,
                Path::new(&cert_text),
                &printed,
                &serial,
                key_type,
            );
        });
    }
    table.assert_all_passed();
}

#[test]
fn generate_key_never_overwrites_a_file_or_a_token_object_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing.key");
    std::fs::write(&existing, "precious").unwrap();
    let link = dir.path().join("link.key");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
    for path in [&existing, &link] {
        for tpm in [false, true] {
            let mut command = Helper::command("generate-key").arg("--out").arg(path);
            if tpm {
                command = command
                    .args(["--tpm"])
                    .env("TPM_DEVICE", "/nonexistent/tpm");
            }
            assert_clean_failure(
                &command.output(),
                3,
                "already exists; it is never overwritten",
            );
        }
    }
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    assert!(
        !dir.path().join("elsewhere").exists(),
        "the symlink's target was never made"
    );

    let token = Token::new();
    let objects = || token.list_objects(&[]);
    let before = objects();
    let first = token
        .command_with_module("generate-key")
        .env("PKCS11_PIN", PIN)
        .args(["--pkcs11", &format!("{};id=%ee", token.uri("once"))])
        .output();
    generated(first, "first token key");
    let after_first = objects();
    assert_ne!(before, after_first);
    for (what, uri, needle) in [
        (
            "same label",
            format!("{};id=%ef", token.uri("once")),
            "with the label once",
        ),
        (
            "same id",
            format!("{};id=%ee", token.uri("other")),
            "with the id %EE",
        ),
    ] {
        let output = token
            .command_with_module("generate-key")
            .env("PKCS11_PIN", PIN)
            .args(["--pkcs11", &uri])
            .output();
        assert_clean_failure(&output, 3, needle);
        assert_eq!(
            objects(),
            after_first,
            "{what}: nothing changed on the token"
        );
    }
}

#[test]
fn csr_refuses_malformed_subjects_and_names_naming_the_part() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    generated(
        Helper::command("generate-key")
            .arg("--out")
            .arg(&key)
            .output(),
        "key",
    );
    let key = key.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--subject", "CN=a,XX=b"],
            "--subject: 'XX=b': unknown attribute 'XX'",
        ),
        (
            &["--subject", "CN=a,OU="],
            "--subject: 'OU=' has an empty value",
        ),
        (
            &["--subject", "CN=a,,O=b"],
            "part 2 of 'CN=a,,O=b' is empty",
        ),
        (&["--subject", "CN"], "'CN' is not ATTRIBUTE=VALUE"),
        (&["--subject", "CN=a\\q"], "'\\q' is not an escape"),
        (&["--subject", "C=USA"], "a country is two capital letters"),
        (&["--subject", ""], "--subject: is empty"),
        (&[], "--subject: is required"),
        (
            &["--subject", "CN=a", "--dns", "bad name"],
            "--dns: 'bad name'",
        ),
        (
            &["--subject", "CN=a", "--ip", "1.2.3"],
            "--ip: '1.2.3' is not an IPv4 or IPv6 address",
        ),
        (
            &["--subject", "CN=a", "--uri", "nope"],
            "--uri: 'nope' is not an absolute URI",
        ),
    ];
    let mut table = Table::new("bad csr input");
    for (args, needle) in cases {
        table.row(&format!("{args:?}"), || {
            let output = Helper::command("csr")
                .args(["--private-key", key])
                .args(*args)
                .output();
            assert_clean_failure(&output, 2, needle);
        });
    }
    table.assert_all_passed();
}
