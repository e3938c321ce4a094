//! Entry points for the fuzz targets (feature `fuzzing`): a TPM's answers and TPM key files
//! through the same decoders the connection and the key use, with no TPM.

use std::io::{Read, Write};

use super::rc::ResponseCode;
use super::{key, scheme, transport, wire};

/// A byte stream whose reads come from the fuzz input and whose writes go nowhere: what a
/// swtpm socket or a TPM device could answer.
struct Answering<'a> {
    answer: &'a [u8],
}

impl Read for Answering<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.answer.read(buf)
    }
}

impl Write for Answering<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads `answer` as the response to one command over a byte stream, then decodes its body as
/// every command the helper sends would: the handle of TPM2_Load and TPM2_CreatePrimary, the
/// public area of TPM2_ReadPublic (and whether it could sign), the signature of TPM2_Sign. An
/// error code is named and explained as a user would see it.
pub(crate) fn response(answer: &[u8]) {
    let mut stream = Answering { answer };
    let Ok(raw) = transport::stream_transact(&mut stream, b"command") else {
        return;
    };
    let Ok(response) = wire::parse_response(&raw) else {
        return;
    };
    if response.code != 0 {
        let code = ResponseCode(response.code);
        let _ = (code.to_string(), code.advice(), code.is_retry_later());
        let _ = (code.is_wrong_password(), code.is_stale_object());
        return;
    }
    let body = &response.body;
    let _ = wire::Reader::new(body).u32("objectHandle");
    let mut reader = wire::Reader::new(body);
    if let Ok(public) = reader.tpm2b("outPublic")
        && let Ok(area) = wire::parse_public(public)
    {
        let _ = scheme::usable_signing_key(&area, "fuzz");
    }
    let _ = scheme::signature_from_response(body);
}

/// Parses a TPM key file (PEM or DER) up to the point where the TPM would be asked to load it.
pub(crate) fn key_file(bytes: &[u8]) -> crate::Result<()> {
    key::parse_key_file(bytes, "fuzz").map(|_| ())
}
