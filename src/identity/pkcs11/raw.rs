//! Signing with CKA_ALWAYS_AUTHENTICATE keys: C_SignInit, C_Login(CKU_CONTEXT_SPECIFIC), C_Sign
//! through the module's raw function list, a sequence the `cryptoki` crate cannot express.

// The one module with unsafe code: raw calls into the PKCS#11 module's function list.
#![allow(unsafe_code)]

use std::path::Path;

use cryptoki::context::Function;
use cryptoki::error::Rv;
use cryptoki_sys::{
    CK_FUNCTION_LIST, CK_MECHANISM, CK_MECHANISM_TYPE, CK_OBJECT_HANDLE, CK_SESSION_HANDLE,
    CK_ULONG, CKU_CONTEXT_SPECIFIC,
};

/// The module's own function table, reached through a second `dlopen` of the same file: the
/// loader hands back the already-loaded library, so the calls share cryptoki's initialised state.
pub(crate) struct RawModule {
    // Keeps the library mapped for as long as the function pointers are used.
    _library: cryptoki_sys::Pkcs11,
    functions: CK_FUNCTION_LIST,
}

// SAFETY: the table holds plain function pointers into a module initialised with
// CKF_OS_LOCKING_OK, which PKCS#11 requires to be callable from any thread.
unsafe impl Send for RawModule {}
unsafe impl Sync for RawModule {}

impl RawModule {
    /// Opens `path` again and reads its function list.
    pub(crate) fn open(path: &Path) -> Result<RawModule, String> {
        // SAFETY: loading a PKCS#11 module runs its initialisers; this module is already loaded
        // in this process by cryptoki, so nothing new runs.
        let library = unsafe { cryptoki_sys::Pkcs11::new(path) }
            .map_err(|e| format!("cannot reopen {}: {e}", path.display()))?;
        if library.C_GetFunctionList.is_err() {
            return Err(format!("{} has no C_GetFunctionList", path.display()));
        }
        let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
        // SAFETY: C_GetFunctionList exists (checked above) and writes one pointer.
        let rv = unsafe { library.C_GetFunctionList(&mut list) };
        if rv != 0 || list.is_null() {
            return Err(format!("C_GetFunctionList failed with 0x{rv:x}"));
        }
        // SAFETY: the module returned a valid, static function list.
        let functions = unsafe { *list };
        Ok(RawModule {
            _library: library,
            functions,
        })
    }

    /// Signs `data` with `key` in `session`, logging in for this one operation with `pin`.
    pub(crate) fn sign_with_context_login(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: CK_MECHANISM_TYPE,
        key: CK_OBJECT_HANDLE,
        pin: &[u8],
        data: &[u8],
    ) -> cryptoki::error::Result<Vec<u8>> {
        let missing = cryptoki::error::Error::NullFunctionPointer;
        let sign_init = self.functions.C_SignInit.ok_or(missing)?;
        let login = self
            .functions
            .C_Login
            .ok_or(cryptoki::error::Error::NullFunctionPointer)?;
        let sign = self
            .functions
            .C_Sign
            .ok_or(cryptoki::error::Error::NullFunctionPointer)?;
        let mut mechanism = CK_MECHANISM {
            mechanism,
            pParameter: std::ptr::null_mut(),
            ulParameterLen: 0,
        };
        let data_len = CK_ULONG::try_from(data.len())?;
        let pin_len = CK_ULONG::try_from(pin.len())?;
        // SAFETY: every pointer passed points into live buffers of the stated lengths; the
        // session and key handles came from this module.
        unsafe {
            Rv::from(sign_init(session, &mut mechanism, key)).into_result(Function::SignInit)?;
            Rv::from(login(
                session,
                CKU_CONTEXT_SPECIFIC,
                pin.as_ptr() as *mut u8,
                pin_len,
            ))
            .into_result(Function::Login)?;
            // One call with a buffer large enough for any supported key (RSA 4096: 512 bytes,
            // P-521: 132), because some tokens end the context login after a length query.
            let mut signature = vec![0u8; 1024];
            let mut length = CK_ULONG::try_from(signature.len())?;
            Rv::from(sign(
                session,
                data.as_ptr() as *mut u8,
                data_len,
                signature.as_mut_ptr(),
                &mut length,
            ))
            .into_result(Function::Sign)?;
            signature.truncate(usize::try_from(length)?);
            Ok(signature)
        }
    }
}
