//! The [`Signer`] trait every key back-end implements, and the public keys, curves and digests
//! it speaks in: the request code signs without knowing where the key lives.

use sha2::Digest as _;

use crate::error::Result;

/// The elliptic curves Roles Anywhere accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl Curve {
    /// Every curve.
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    /// The named-curve OID, dotted.
    pub fn oid(self) -> &'static str {
        match self {
            Curve::P256 => "1.2.840.10045.3.1.7",
            Curve::P384 => "1.3.132.0.34",
            Curve::P521 => "1.3.132.0.35",
        }
    }

    /// `P-256`, `P-384` or `P-521`.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }
}

/// The ML-DSA (FIPS 204) parameter sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlDsaLevel {
    /// ML-DSA-44.
    L44,
    /// ML-DSA-65.
    L65,
    /// ML-DSA-87.
    L87,
}

impl MlDsaLevel {
    /// `ML-DSA-44`, `ML-DSA-65` or `ML-DSA-87`.
    pub fn name(self) -> &'static str {
        match self {
            MlDsaLevel::L44 => "ML-DSA-44",
            MlDsaLevel::L65 => "ML-DSA-65",
            MlDsaLevel::L87 => "ML-DSA-87",
        }
    }

    /// The key algorithm OID (pure ML-DSA, RFC 9881), dotted.
    pub fn oid(self) -> &'static str {
        match self {
            MlDsaLevel::L44 => "2.16.840.1.101.3.4.3.17",
            MlDsaLevel::L65 => "2.16.840.1.101.3.4.3.18",
            MlDsaLevel::L87 => "2.16.840.1.101.3.4.3.19",
        }
    }

    /// The level of a key algorithm OID (2.16.840.1.101.3.4.3.17/18/19), if it is ML-DSA.
    pub fn from_oid(oid: &str) -> Option<MlDsaLevel> {
        [MlDsaLevel::L44, MlDsaLevel::L65, MlDsaLevel::L87]
            .into_iter()
            .find(|level| level.oid() == oid)
    }

    /// The size of the encoded public key.
    pub fn public_key_len(self) -> usize {
        match self {
            MlDsaLevel::L44 => 1312,
            MlDsaLevel::L65 => 1952,
            MlDsaLevel::L87 => 2592,
        }
    }
}

/// A public key in the canonical form both sides of a comparison use.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// The uncompressed SEC1 point (`04 || x || y`).
    Ec {
        /// The curve.
        curve: Curve,
        /// The point.
        point: Vec<u8>,
    },
    /// The PKCS#1 `RSAPublicKey` DER and the modulus size in bits.
    Rsa {
        /// `RSAPublicKey` DER.
        pkcs1_der: Vec<u8>,
        /// The modulus size.
        bits: usize,
    },
    /// The FIPS 204 encoded public key.
    MlDsa {
        /// The parameter set.
        level: MlDsaLevel,
        /// The encoded key.
        encoded: Vec<u8>,
    },
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.describe())
    }
}

impl PublicKey {
    /// `EC P-256` or `RSA 2048`, for messages.
    pub fn describe(&self) -> String {
        match self {
            PublicKey::Ec { curve, .. } => format!("EC {}", curve.name()),
            PublicKey::Rsa { bits, .. } => format!("RSA {bits}"),
            PublicKey::MlDsa { level, .. } => level.name().to_string(),
        }
    }

    /// `EC` or `RSA`, as `read-certificate-data` reports it.
    pub fn key_type(&self) -> &'static str {
        match self {
            PublicKey::Ec { .. } => "EC",
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::MlDsa { level, .. } => level.name(),
        }
    }

    /// The SigV4-X509 algorithm this key signs with; never taken from the certificate's own
    /// signature algorithm.
    pub fn sigv4_algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ec { .. } => "AWS4-X509-ECDSA-SHA256",
            PublicKey::Rsa { .. } => "AWS4-X509-RSA-SHA256",
            PublicKey::MlDsa { .. } => "AWS4-X509-MLDSA",
        }
    }

    /// The bytes `sign-string` hashes: the uncompressed point for EC, PKCS#1 DER for RSA; none
    /// for ML-DSA, whose test message AWS's helper 1.8 leaves without the key suffix.
    pub fn signing_test_bytes(&self) -> Option<&[u8]> {
        match self {
            PublicKey::Ec { point, .. } => Some(point),
            PublicKey::Rsa { pkcs1_der, .. } => Some(pkcs1_der),
            PublicKey::MlDsa { .. } => None,
        }
    }

    /// The digests `read-certificate-data` lists (`ECSHA256`, …; just the level for ML-DSA).
    pub fn supported_algorithms(&self) -> Vec<String> {
        match self {
            PublicKey::MlDsa { level, .. } => vec![level.name().to_string()],
            other => ["SHA256", "SHA384", "SHA512"]
                .iter()
                .map(|d| format!("{}{d}", other.key_type()))
                .collect(),
        }
    }
}

/// The hash a signature is made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Digest {
    #[default]
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Digest {
    /// The digest of `message`.
    pub fn hash(self, message: &[u8]) -> Vec<u8> {
        match self {
            Digest::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Digest::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Digest::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

/// A private key that can sign, wherever it lives.
pub trait Signer: Send + Sync {
    /// The public half, used to match the certificate and to name the algorithm.
    fn public_key(&self) -> &PublicKey;

    /// Signs `message` hashed with `digest`: ASN.1 DER `SEQUENCE{r,s}` for EC (over the
    /// digest, whatever the curve), RSASSA-PKCS1-v1_5 for RSA; ML-DSA signs the message itself.
    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>>;

    /// The key's algorithm as the request names it.
    fn algorithm(&self) -> Algorithm {
        Algorithm(self.public_key().sigv4_algorithm())
    }

    /// True when a signature takes tens of microseconds: less than starting a thread to sign
    /// while the connection opens would cost. Keys on a token or in a TPM are never quick.
    fn signs_quickly(&self) -> bool {
        false
    }
}

/// A SigV4-X509 algorithm name such as `AWS4-X509-ECDSA-SHA256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Algorithm(&'static str);

impl Algorithm {
    /// The `Authorization` algorithm name (`AWS4-X509-ECDSA-SHA256`, …).
    pub fn sigv4_algorithm(self) -> &'static str {
        self.0
    }
}
