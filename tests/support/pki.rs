//! A throwaway PKI in a private temp dir: a root CA and leaves written as PEM files.

use std::path::{Path, PathBuf};

use super::openssl;
use super::testbed::{Authority, CertSpec, GeneratedKey, KeyKind};

/// A private temp dir with a root CA (its PEM on disk).
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub root: Authority,
    pub root_pem: PathBuf,
}

/// A leaf's files.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub key_kind: KeyKind,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("rah-test")
            .tempdir()
            .unwrap();
        let root = Authority::root("Test Root CA").unwrap();
        let root_pem = dir.path().join("root.pem");
        std::fs::write(&root_pem, root.cert_pem()).unwrap();
        Pki {
            dir,
            root,
            root_pem,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A leaf of `kind` issued by `issuer` as `spec` says, written as PKCS#8 PEM key + PEM cert.
    pub fn leaf_from(
        &self,
        issuer: &Authority,
        name: &str,
        kind: KeyKind,
        spec: &CertSpec,
    ) -> Leaf {
        let key = GeneratedKey::generate(kind).unwrap();
        let key_path = self.path(&format!("{name}.key"));
        std::fs::write(&key_path, key.pkcs8_pem().as_bytes()).unwrap();
        let cert_path = self.path(&format!("{name}.pem"));
        let cert = issuer.issue(spec, &key.spki_der).unwrap();
        std::fs::write(&cert_path, cert.pem).unwrap();
        Leaf {
            cert: cert_path,
            key: key_path,
            key_kind: kind,
        }
    }

    pub fn leaf(&self, name: &str, kind: KeyKind) -> Leaf {
        self.leaf_from(&self.root, name, kind, &CertSpec::leaf(name))
    }
}

/// `--certificate C --private-key K` for a leaf.
pub fn leaf_args(leaf: &Leaf) -> Vec<String> {
    vec![
        "--certificate".into(),
        leaf.cert.to_str().unwrap().into(),
        "--private-key".into(),
        leaf.key.to_str().unwrap().into(),
    ]
}

/// Replaces `leaf`'s certificate and key files with a new pair (renewal), each atomically.
pub fn renew_leaf(pki: &Pki, leaf: &Leaf, name: &str) {
    let renewed = pki.leaf(name, leaf.key_kind);
    std::fs::rename(&renewed.key, &leaf.key).unwrap();
    std::fs::rename(&renewed.cert, &leaf.cert).unwrap();
}

/// A CA made by openssl (EC P-256), for tests whose CA is a command (`openssl x509 -req`), as a
/// user's renew command would be.
pub struct OpensslCa {
    /// Its certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// An extensions file whose `[leaf]` section makes a client-authentication leaf.
    pub extensions: PathBuf,
}

impl OpensslCa {
    /// A CA named `subject` (`/CN=…`) valid for `days`, its files in `dir`.
    pub fn create(dir: &Path, subject: &str, days: u32) -> OpensslCa {
        let ca = OpensslCa {
            cert: dir.join("ca.pem"),
            key: dir.join("ca.key"),
            extensions: dir.join("ext.cnf"),
        };
        let days = days.to_string();
        openssl(
            &[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                &days,
                "-subj",
                subject,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
                "-keyout",
            ],
            &[&ca.key, Path::new("-out"), &ca.cert],
        );
        std::fs::write(
            &ca.extensions,
            "[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        ca
    }
}
