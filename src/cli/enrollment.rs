//! The flags of the commands that make keys and certificate requests: `generate-key` and `csr`.

// clap turns doc comments into help text: the argument structs deliberately have none.
#![allow(missing_docs)]

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::{KeyArgs, secret};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum KeyTypeName {
    #[value(name = "ec-p256")]
    EcP256,
    #[value(name = "ec-p384")]
    EcP384,
    #[value(name = "rsa-2048")]
    Rsa2048,
    #[value(name = "rsa-3072")]
    Rsa3072,
}

#[derive(Debug, Args, Clone)]
pub struct GenerateKeyArgs {
    /// The key type
    ///
    /// The key type: EC on P-256 or P-384, or RSA 2048 or 3072 bits (public exponent 65537).
    /// Every destination makes every type; RSA 3072 in a TPM takes seconds to minutes.
    #[arg(long, value_enum, default_value = "ec-p256")]
    pub key_type: KeyTypeName,
    /// Write the new key to this file (PKCS#8 PEM, 0600); with --tpm, the TPM key file
    ///
    /// The new key's file, created 0600 and written atomically: it appears whole or not at all.
    /// An existing file (or symlink) is never overwritten: the command fails and changes nothing.
    /// Alone: a PKCS#8 PEM private key. With --tpm: a `TSS2 PRIVATE KEY` file that this helper,
    /// tpm2-openssl and tpm2-tss-engine load; the key itself never leaves the TPM.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Create the key inside the TPM (TPM_DEVICE, else /dev/tpmrm0); needs --out for its key file
    ///
    /// Creates the key inside the TPM, under the storage key: the one persisted at 0x81000001 when
    /// there is one, else the standard ECC P-256 primary of the owner hierarchy, created when
    /// the key is loaded (the key file's parent is then 0x40000001, as tpm2-openssl writes). The
    /// TPM is TPM_DEVICE (a device, a swtpm socket, or swtpm:host=…,port=…), else /dev/tpmrm0,
    /// then /dev/tpm0. The key file holds the key sealed by the TPM, usable only on this TPM.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub tpm: Option<bool>,
    /// Password of the new TPM key (default: none)
    ///
    /// The new TPM key's password, asked for by the TPM at each signature (--tpm-key-password
    /// when using it). Without it the key has no password and its file says so (emptyAuth).
    #[arg(long, value_name = "PASSWORD", value_parser = secret)]
    pub tpm_key_password: Option<Zeroizing<String>>,
    /// Generate the key pair on a PKCS#11 token: 'pkcs11:token=…;object=LABEL;id=%01'
    ///
    /// Generates the key pair on the token the URI selects (exactly one), labelled object= and
    /// identified by id= (8 random bytes without id=). The private key is a token object,
    /// sensitive and never extractable, allowed to sign. A token object with the same label or
    /// id is never replaced: the command fails and changes nothing. The PIN comes from the URI's
    /// pin-value= or pin-source=, else PKCS11_PIN, else the terminal. Prints the key's URI, to
    /// give as --private-key.
    #[arg(long, value_name = "URI")]
    pub pkcs11: Option<String>,
    /// PKCS#11 module to load (for --pkcs11)
    ///
    /// The PKCS#11 module; without it, the URI's module-path= or module-name=, else p11-kit's
    /// proxy, as for signing.
    #[arg(long, value_name = "PATH")]
    pub pkcs11_lib: Option<String>,
    /// Print debug traces on stderr (never secrets)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub debug: Option<bool>,
}

#[derive(Debug, Args, Clone)]
pub struct CsrArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// The subject, RFC 4514: 'CN=device-1,OU=edge,O=Example,C=US'
    ///
    /// The subject, written as RFC 4514 does: the most specific attribute first, separated by
    /// commas ('CN=device-1,OU=edge,O=Example,C=US'), `+` joining attributes of one RDN, and
    /// `\` escaping , + " \ < > ; = # and spaces (or a byte as two hex digits). Attributes: CN,
    /// SN, serialNumber, C, L, ST, STREET, O, OU, title, postalCode, GN, initials,
    /// generationQualifier, dnQualifier, pseudonym, organizationIdentifier, UID, DC,
    /// emailAddress, or a dotted OID. Without it, the subject and SANs of --certificate are
    /// copied (a renewal request for the same names).
    #[arg(long, value_name = "NAME")]
    pub subject: Option<String>,
    /// A DNS name for the subjectAltName (repeat for several)
    #[arg(long = "dns", value_name = "NAME")]
    pub dns_names: Vec<String>,
    /// A URI for the subjectAltName, such as spiffe://example.org/device-1 (repeat for several)
    #[arg(long = "uri", value_name = "URI")]
    pub uris: Vec<String>,
    /// An IPv4 or IPv6 address for the subjectAltName (repeat for several)
    #[arg(long = "ip", value_name = "ADDR")]
    pub ip_addresses: Vec<String>,
    /// Write the request to this file instead of standard output
    ///
    /// Writes the PEM request to this file (replaced atomically, mode 0640) instead of printing
    /// it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}
