//! `csr`: a PKCS#10 request signed by the key wherever it lives, for `--subject` and the SAN
//! flags, or for the names of `--certificate` (a renewal request).

use std::path::Path;

use crate::cli::CsrArgs;
use crate::enrollment::{RequestContent, build_request};
use crate::error::{Error, Result};
use crate::identity::Signer;
use crate::support::private_file;

/// Builds and signs the request; the PEM is the output, or written to `--out`.
pub fn run(args: &CsrArgs) -> Result<String> {
    let spec = super::from_cli::identity_spec(&args.key, None)?;
    let flags_content = || {
        RequestContent::from_flags(
            args.subject.as_deref().unwrap_or_default(),
            &args.dns_names,
            &args.uris,
            &args.ip_addresses,
        )
    };
    let (content, signer): (RequestContent, Box<dyn Signer>) = match (
        &args.subject,
        &spec.certificate,
    ) {
        (Some(_), None) => (flags_content()?, crate::identity::load_signer(&spec)?),
        (Some(_), Some(_)) => {
            // The key is checked against the certificate, then the flags say what to ask for.
            (flags_content()?, crate::identity::load(&spec)?.signer)
        }
        (None, Some(_)) => {
            let identity = crate::identity::load(&spec)?;
            let mut content =
                RequestContent::from_certificate(&identity.leaf, &spec.certificate_input())?;
            content.add_names(&args.dns_names, &args.uris, &args.ip_addresses)?;
            (content, identity.signer)
        }
        (None, None) => {
            return Err(Error::invalid_argument(
                "--subject",
                "is required (or give --certificate to copy its subject and names); e.g. --subject 'CN=device-1,O=Example'",
            ));
        }
    };
    let request = build_request(&content, signer.as_ref())?;
    match &args.out {
        Some(path) => {
            let input = format!("--out {}", path.display());
            private_file::write_file_with_mode(Path::new(path), request.as_bytes(), &input, 0o640)?;
            Ok(String::new())
        }
        None => Ok(request),
    }
}
