//! New keys inside the TPM: TPM2_Create of a signing key under the storage key (the one
//! persisted at 0x81000001, else the standard primary of the owner hierarchy), saved as the
//! `TSS2 PRIVATE KEY` file tpm2-openssl and tpm2-tss-engine write, and loaded back to prove it.

use zeroize::Zeroizing;

use super::connection::{Connection, Failure, choose_target, explain_failure};
use super::key::{TpmKey, create_owner_storage_key};
use super::{Options, Password, TSS2_PEM_LABEL, keyfile, rc, wire};
use crate::error::Result;
use crate::identity::PublicKey;
use crate::settings::keys::NewKeyType;

/// Where the TSS2 key-file convention and the common tools persist the storage key.
const PERSISTENT_SRK: u32 = 0x8100_0001;

/// Creates a `key_type` signing key in the TPM `TPM_DEVICE` (else the default devices) names,
/// with `password` (none: the empty one, written as emptyAuth TRUE). Returns the key file's PEM
/// and the public key; `input` names the output in errors.
pub(crate) fn create_key(
    key_type: NewKeyType,
    password: Option<&str>,
    input: &str,
) -> Result<(Zeroizing<String>, PublicKey)> {
    let options = Options {
        password: match password {
            Some(p) => Password::Given(Zeroizing::new(p.to_string())),
            None => Password::Empty,
        },
        device: None,
    };
    let mut connection = Connection::new(choose_target(&options, input)?);
    let (parent, created) = match storage_parent(&mut connection) {
        Ok(found) => found,
        Err(failure) => return Err(explain_failure(failure, input, &connection.target)),
    };
    let parent_handle = created.unwrap_or(parent);
    let made = create_under(&mut connection, parent_handle, key_type, password);
    if let Some(primary) = created {
        let _ = connection.flush(primary);
    }
    let (public, private) = match made {
        Ok(blobs) => blobs,
        Err(failure) => return Err(explain_failure(failure, input, &connection.target)),
    };
    drop(connection);
    let der = keyfile::encode(parent, password.is_none(), &public, &private);
    let pem = Zeroizing::new(pem::encode_config(
        &pem::Pem::new(TSS2_PEM_LABEL, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    ));
    // Loaded back as any key file is: the file is known to work before it is written.
    let key = TpmKey::from_key_file_bytes(pem.as_bytes(), input, &options)?;
    let public_key = crate::identity::Signer::public_key(&key).clone();
    Ok((pem, public_key))
}

/// The parent to create under: the storage key persisted at 0x81000001 when there is one
/// (`None` created), else the owner hierarchy's standard primary, created now (its handle
/// returned to be flushed).
fn storage_parent(connection: &mut Connection) -> Result<(u32, Option<u32>), Failure> {
    match connection.read_public(PERSISTENT_SRK) {
        Ok(area)
            if area.attributes & wire::ATTR_RESTRICTED != 0
                && area.attributes & wire::ATTR_DECRYPT != 0 =>
        {
            return Ok((PERSISTENT_SRK, None));
        }
        Ok(_) => {}
        Err(Failure::Tpm(_, code)) if code.base() == rc::HANDLE => {}
        Err(other) => return Err(other),
    }
    let handle = create_owner_storage_key(connection)?;
    Ok((wire::RH_OWNER, Some(handle)))
}

/// TPM2_Create of the signing key; returns its TPM2B_PUBLIC and TPM2B_PRIVATE, each with its
/// two length bytes, as the key file holds them.
fn create_under(
    connection: &mut Connection,
    parent: u32,
    key_type: NewKeyType,
    password: Option<&str>,
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), Failure> {
    let auth = password.unwrap_or("").as_bytes();
    let mut sensitive = Zeroizing::new(Vec::with_capacity(auth.len() + 4));
    wire::tpm2b(&mut sensitive, auth); // userAuth
    wire::tpm2b(&mut sensitive, &[]); // data
    let mut parameters = Zeroizing::new(Vec::with_capacity(128));
    wire::tpm2b(&mut parameters, &sensitive);
    wire::tpm2b(&mut parameters, &signing_template(key_type));
    wire::tpm2b(&mut parameters, &[]); // outsideInfo
    parameters.extend_from_slice(&0u32.to_be_bytes()); // creationPCR: none
    // The storage key has the empty password (the standard template's, and the tools').
    let command = wire::command(wire::CC_CREATE, &[parent], Some(b""), &parameters);
    let body = connection.execute("TPM2_Create", &command)?;
    let malformed = |m: wire::Malformed| Failure::Malformed("TPM2_Create", m.0);
    let mut reader = wire::Reader::new(&body);
    let _parameter_size = reader.u32("parameterSize").map_err(malformed)?;
    let private = reader.tpm2b("outPrivate").map_err(malformed)?;
    let public = reader.tpm2b("outPublic").map_err(malformed)?;
    let with_length = |bytes: &[u8]| {
        let mut out = Vec::with_capacity(bytes.len() + 2);
        wire::tpm2b(&mut out, bytes);
        out
    };
    Ok((with_length(public), Zeroizing::new(with_length(private))))
}

/// The TPMT_PUBLIC of a non-restricted signing key that lets the caller pick the scheme and
/// hash (NULL scheme), as `openssl genpkey -provider tpm2` makes: fixedTPM, fixedParent,
/// sensitiveDataOrigin, userWithAuth, sign; SHA-256 name; dictionary-attack protection kept.
fn signing_template(key_type: NewKeyType) -> Vec<u8> {
    let attributes = wire::ATTR_FIXED_TPM
        | wire::ATTR_FIXED_PARENT
        | wire::ATTR_SENSITIVE_DATA_ORIGIN
        | wire::ATTR_USER_WITH_AUTH
        | wire::ATTR_SIGN;
    let object_type = match key_type {
        NewKeyType::EcP256 | NewKeyType::EcP384 => wire::ALG_ECC,
        NewKeyType::Rsa2048 | NewKeyType::Rsa3072 => wire::ALG_RSA,
    };
    let mut template = Vec::with_capacity(32);
    template.extend_from_slice(&object_type.to_be_bytes());
    template.extend_from_slice(&wire::ALG_SHA256.to_be_bytes()); // nameAlg
    template.extend_from_slice(&attributes.to_be_bytes());
    wire::tpm2b(&mut template, &[]); // authPolicy
    template.extend_from_slice(&wire::ALG_NULL.to_be_bytes()); // symmetric
    template.extend_from_slice(&wire::ALG_NULL.to_be_bytes()); // scheme
    match key_type {
        NewKeyType::EcP256 | NewKeyType::EcP384 => {
            let curve = if key_type == NewKeyType::EcP256 {
                wire::ECC_NIST_P256
            } else {
                wire::ECC_NIST_P384
            };
            template.extend_from_slice(&curve.to_be_bytes());
            template.extend_from_slice(&wire::ALG_NULL.to_be_bytes()); // kdf
            wire::tpm2b(&mut template, &[]); // unique.x
            wire::tpm2b(&mut template, &[]); // unique.y
        }
        NewKeyType::Rsa2048 | NewKeyType::Rsa3072 => {
            let bits = key_type.rsa_bits().unwrap_or(2048) as u16;
            template.extend_from_slice(&bits.to_be_bytes());
            template.extend_from_slice(&0u32.to_be_bytes()); // exponent: the default, 65537
            wire::tpm2b(&mut template, &[]); // unique.rsa
        }
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_parse_as_usable_signing_keys_and_the_file_reads_back() {
        for key_type in [
            NewKeyType::EcP256,
            NewKeyType::EcP384,
            NewKeyType::Rsa2048,
            NewKeyType::Rsa3072,
        ] {
            let area = wire::parse_public(&signing_template(key_type)).unwrap();
            assert_eq!(area.attributes, 0x0004_0072, "{key_type:?}");
            assert_eq!(area.scheme, wire::ALG_NULL, "{key_type:?}");
        }
        for (parent, empty) in [(wire::RH_OWNER, true), (PERSISTENT_SRK, false)] {
            let der = keyfile::encode(parent, empty, &[0, 2, 0xAA, 0xBB], &[0, 1, 0xCC]);
            let file = keyfile::parse(&der).unwrap();
            assert_eq!((file.parent, file.empty_auth), (parent, empty));
            assert_eq!(file.public, [0, 2, 0xAA, 0xBB]);
        }
    }
}
