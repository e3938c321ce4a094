//! Keys (and certificates) that never leave a PKCS#11 token, named by RFC 7512 URIs: one module
//! initialisation per process, one session and login per signer, reopened when the token drops it.
//!
//! Lookup follows AWS's helper (and the openconnect rules it cites): certificates are searched
//! before login, then after login when exactly one token matches; the key by its URI, else by the
//! certificate's CKA_ID, and matched to the certificate by comparing public keys.

pub mod pin;
pub mod raw;
pub mod uri;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, SlotInfo, TokenInfo};
use cryptoki::types::AuthPin;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Curve, Digest, PublicKey, Signer};
use crate::error::{Error, Result};
use crate::identity::certificate::{self, Certificate};
use crate::settings::identity::IdentitySpec;
use pin::Pin;
pub use uri::{ObjectType, Pkcs11Uri, is_pkcs11_uri};

/// Where p11-kit's proxy module usually lives; it is the default module, as in AWS's helper.
const P11_KIT_PROXY_PATHS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so",
    "/usr/lib/aarch64-linux-gnu/p11-kit-proxy.so",
    "/usr/lib64/p11-kit-proxy.so",
    "/usr/lib/p11-kit-proxy.so",
    "/usr/local/lib/p11-kit-proxy.so",
];

/// Test-only: the one path to try for p11-kit's proxy instead of the usual ones, so tests control
/// the default module whatever the host has installed. Used only when set.
pub const TEST_P11_KIT_PROXY_ENV: &str = "RAH_TEST_P11_KIT_PROXY";

/// Where modules named by `module-name` are looked for (p11-kit's module directories).
const MODULE_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/pkcs11",
    "/usr/lib/aarch64-linux-gnu/pkcs11",
    "/usr/lib64/pkcs11",
    "/usr/lib/pkcs11",
    "/usr/local/lib/pkcs11",
];

static USER_LOGINS: AtomicU64 = AtomicU64::new(0);
static SESSIONS_OPENED: AtomicU64 = AtomicU64::new(0);

/// How many times this process has called C_Login for the user (for tests and diagnostics).
pub fn user_login_count() -> u64 {
    USER_LOGINS.load(Ordering::SeqCst)
}

/// How many sessions this process has opened (for tests and diagnostics).
pub fn session_open_count() -> u64 {
    SESSIONS_OPENED.load(Ordering::SeqCst)
}

/// Whether the signing key is on a token: `--private-key` is a URI, or it is absent and
/// `--certificate` is one.
pub fn key_in_token(key: &IdentitySpec) -> bool {
    match key.private_key.as_deref() {
        Some(text) => is_pkcs11_uri(text),
        None => key.certificate.as_deref().is_some_and(is_pkcs11_uri),
    }
}

/// Whether any of the key arguments names a PKCS#11 object.
pub fn involved(key: &IdentitySpec) -> bool {
    [&key.certificate, &key.private_key]
        .into_iter()
        .flatten()
        .any(|v| is_pkcs11_uri(v))
}

// ---------------------------------------------------------------------------------------------
// Modules

/// A loaded and initialised PKCS#11 module, shared by everything in the process that uses it.
pub struct Module {
    path: PathBuf,
    context: Pkcs11,
    raw: OnceLock<std::result::Result<Arc<raw::RawModule>, String>>,
}

impl Module {
    /// The raw function table, opened on first use (only always-authenticate keys need it).
    fn raw(&self) -> std::result::Result<Arc<raw::RawModule>, String> {
        self.raw
            .get_or_init(|| raw::RawModule::open(&self.path).map(Arc::new))
            .clone()
    }
}

static MODULES: OnceLock<Mutex<Vec<Arc<Module>>>> = OnceLock::new();

/// Loads and initialises the module at `path` once per process; `input` names it in errors.
pub fn load_module(path: &Path, input: &str) -> Result<Arc<Module>> {
    let registry = MODULES.get_or_init(Default::default);
    let mut modules = registry
        .lock()
        .map_err(|_| Error::Internal("the PKCS#11 module registry lock is poisoned".into()))?;
    if let Some(module) = modules.iter().find(|m| m.path == path) {
        return Ok(module.clone());
    }
    tracing::debug!(module = %path.display(), "loading the PKCS#11 module");
    let context = Pkcs11::new(path).map_err(|e| {
        let why = match e {
            CkError::LibraryLoading(e) => e.to_string(),
            other => other.to_string(),
        };
        Error::bad_input(
            input,
            format!(
                "cannot load the PKCS#11 module {} ({why}); install the package that provides it (SoftHSM2: softhsm2; smart cards: opensc; YubiKey: ykcs11; p11-kit proxy: p11-kit-modules) or give its path with --pkcs11-lib",
                path.display()
            ),
        )
    })?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Someone in this process initialised it already: its state is ours to share.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(Error::bad_input(
                input,
                format!(
                    "the PKCS#11 module {} failed to initialise: {}; check its configuration (SoftHSM2: SOFTHSM2_CONF)",
                    path.display(),
                    ck(&e)
                ),
            ));
        }
    }
    let module = Arc::new(Module {
        path: path.to_path_buf(),
        context,
        raw: OnceLock::new(),
    });
    modules.push(module.clone());
    Ok(module)
}

/// The module to use: `--pkcs11-lib`, else the URI's module-path / module-name, else p11-kit's proxy.
pub fn module_location(lib_flag: Option<&str>, uris: &[&Pkcs11Uri]) -> Result<(PathBuf, String)> {
    if let Some(lib) = lib_flag.filter(|l| !l.is_empty()) {
        return Ok((PathBuf::from(lib), format!("--pkcs11-lib {lib}")));
    }
    for uri in uris {
        let input = format!("PKCS#11 URI {}", uri.redacted());
        match (&uri.module_path, &uri.module_name) {
            (Some(path), name) => {
                let path = PathBuf::from(path);
                if path.is_dir() {
                    let Some(name) = name else {
                        return Err(Error::invalid_argument(
                            input,
                            "module-path names a directory: add module-name=… or give the module file",
                        ));
                    };
                    return Ok((module_file_in(&path, name), input));
                }
                return Ok((path, input));
            }
            (None, Some(name)) => {
                let found = MODULE_DIRS
                    .iter()
                    .map(|dir| module_file_in(Path::new(dir), name))
                    .find(|p| p.exists());
                return match found {
                    Some(path) => Ok((path, input)),
                    None => Err(Error::bad_input(
                        input,
                        format!(
                            "no PKCS#11 module named `{name}` in {}; install it or use module-path=/path/to/module.so or --pkcs11-lib",
                            MODULE_DIRS.join(", ")
                        ),
                    )),
                };
            }
            (None, None) => {}
        }
    }
    let candidates: Vec<String> = match std::env::var(TEST_P11_KIT_PROXY_ENV) {
        Ok(path) if !path.is_empty() => vec![path],
        _ => P11_KIT_PROXY_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    match candidates.iter().find(|p| Path::new(p).exists()) {
        Some(path) => Ok((PathBuf::from(path), format!("p11-kit proxy {path}"))),
        None => Err(Error::bad_input(
            "--pkcs11-lib",
            format!(
                "no PKCS#11 module given and p11-kit's proxy is not installed (tried {}); give the module with --pkcs11-lib /path/to/module.so (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so) or install p11-kit-modules",
                candidates.join(", ")
            ),
        )),
    }
}

fn module_file_in(dir: &Path, name: &str) -> PathBuf {
    let plain = dir.join(name);
    if plain.exists() || name.ends_with(".so") {
        return plain;
    }
    let with_suffix = dir.join(format!("{name}.so"));
    if with_suffix.exists() {
        return with_suffix;
    }
    dir.join(format!("lib{name}.so"))
}

// ---------------------------------------------------------------------------------------------
// Tokens and objects

/// A slot with a token in it, and what the URI may match against.
#[derive(Clone)]
struct Token {
    slot: Slot,
    slot_info: SlotInfo,
    info: TokenInfo,
}

impl Token {
    fn describe(&self) -> String {
        format!(
            "'{}' (serial {}, {})",
            self.info.label(),
            self.info.serial_number(),
            self.info.model()
        )
    }

    /// A URI naming one object of this token.
    fn object_uri(&self, id: &[u8], label: &[u8], kind: ObjectType) -> String {
        Pkcs11Uri {
            token: Some(self.info.label().to_string()),
            manufacturer: Some(self.info.manufacturer_id().to_string()),
            model: Some(self.info.model().to_string()),
            serial: Some(self.info.serial_number().to_string()),
            id: (!id.is_empty()).then(|| id.to_vec()),
            object: (!label.is_empty()).then(|| label.to_vec()),
            object_type: Some(kind),
            ..Default::default()
        }
        .redacted()
    }
}

fn token_matches(uri: &Pkcs11Uri, token: &Token) -> bool {
    let differs =
        |wanted: &Option<String>, actual: &str| wanted.as_deref().is_some_and(|w| w != actual);
    !(uri.slot_id.is_some_and(|id| id != token.slot.id())
        || differs(&uri.token, token.info.label())
        || differs(&uri.manufacturer, token.info.manufacturer_id())
        || differs(&uri.model, token.info.model())
        || differs(&uri.serial, token.info.serial_number())
        || differs(&uri.slot_description, token.slot_info.slot_description())
        || differs(&uri.slot_manufacturer, token.slot_info.manufacturer_id()))
}

/// The initialised tokens the URI's token, slot and library attributes select.
fn tokens_matching(module: &Module, uri: &Pkcs11Uri, input: &str) -> Result<Vec<Token>> {
    let all = all_tokens(module, input)?;
    if uri.library_manufacturer.is_some()
        || uri.library_description.is_some()
        || uri.library_version.is_some()
    {
        let library = module
            .context
            .get_library_info()
            .map_err(|e| token_error(input, "reading the module's information", &e))?;
        let version = library.library_version();
        if uri
            .library_manufacturer
            .as_deref()
            .is_some_and(|m| m != library.manufacturer_id())
            || uri
                .library_description
                .as_deref()
                .is_some_and(|d| d != library.library_description())
            || uri
                .library_version
                .is_some_and(|v| v != (version.major(), version.minor()))
        {
            return Err(Error::bad_input(
                input,
                format!(
                    "the module {} is '{}' '{}' version {}.{}, which the URI's library-* attributes exclude; fix them or load another module",
                    module.path.display(),
                    library.manufacturer_id(),
                    library.library_description(),
                    version.major(),
                    version.minor()
                ),
            ));
        }
    }
    let matching: Vec<Token> = all
        .iter()
        .filter(|t| token_matches(uri, t))
        .cloned()
        .collect();
    if matching.is_empty() {
        let present = if all.is_empty() {
            "there is no initialised token at all".to_string()
        } else {
            format!(
                "tokens present: {}",
                all.iter()
                    .map(Token::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(Error::bad_input(
            input,
            format!(
                "no token in {} matches the URI ({present}); fix token=/serial=/slot-id= in the URI",
                module.path.display()
            ),
        ));
    }
    Ok(matching)
}

fn all_tokens(module: &Module, input: &str) -> Result<Vec<Token>> {
    let slots = module
        .context
        .get_slots_with_token()
        .map_err(|e| token_error(input, "listing the module's slots", &e))?;
    let mut tokens = Vec::new();
    for slot in slots {
        // A slot that cannot describe itself is skipped, as p11tool does.
        let (Ok(slot_info), Ok(info)) = (
            module.context.get_slot_info(slot),
            module.context.get_token_info(slot),
        ) else {
            continue;
        };
        if info.token_initialized() {
            tokens.push(Token {
                slot,
                slot_info,
                info,
            });
        }
    }
    Ok(tokens)
}

/// A session on one token, and whether it has logged in.
struct OpenToken {
    token: Token,
    session: Session,
    logged_in: bool,
}

fn open_session(module: &Module, token: &Token, input: &str) -> Result<Session> {
    let session = module.context.open_ro_session(token.slot).map_err(|e| {
        token_error(
            input,
            &format!("opening a session on token {}", token.describe()),
            &e,
        )
    })?;
    SESSIONS_OPENED.fetch_add(1, Ordering::SeqCst);
    Ok(session)
}

/// The search template for a URI's object attributes, restricted to `class`.
fn template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.clone()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

/// Reads `CKA_ID` and `CKA_LABEL` (empty when the object has none).
fn id_and_label(session: &Session, object: ObjectHandle) -> (Vec<u8>, Vec<u8>) {
    let mut id = Vec::new();
    let mut label = Vec::new();
    if let Ok(attributes) =
        session.get_attributes(object, &[AttributeType::Id, AttributeType::Label])
    {
        for attribute in attributes {
            match attribute {
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = v,
                _ => {}
            }
        }
    }
    (id, label)
}

/// A certificate object found on a token.
struct TokenCert {
    /// Index into the list of open tokens.
    token: usize,
    id: Vec<u8>,
    label: Vec<u8>,
    cert: Certificate,
    uri: String,
}

fn certificates_in(
    open: &OpenToken,
    index: usize,
    template: &[Attribute],
    input: &str,
) -> Result<Vec<TokenCert>> {
    let handles = open
        .session
        .find_objects(template)
        .map_err(|e| token_error(input, "searching the token for certificates", &e))?;
    let mut certs = Vec::new();
    for handle in handles {
        let Ok(attributes) = open.session.get_attributes(handle, &[AttributeType::Value]) else {
            continue;
        };
        let Some(Attribute::Value(der)) = attributes.into_iter().next() else {
            continue;
        };
        let (id, label) = id_and_label(&open.session, handle);
        let uri = open.token.object_uri(&id, &label, ObjectType::Cert);
        match Certificate::from_der(&der, &uri) {
            Ok(cert) => certs.push(TokenCert {
                token: index,
                id,
                label,
                cert,
                uri,
            }),
            // Tokens hold certificates of every kind; one we cannot parse is not ours to use.
            Err(e) => tracing::debug!(%e, "skipping a certificate object"),
        }
    }
    Ok(certs)
}

/// Lazily resolves the user PIN once per load, from the URIs, `$PKCS11_PIN` or the terminal.
struct PinState {
    uris: Vec<Pkcs11Uri>,
    pin: Option<Pin>,
}

impl PinState {
    fn get(&mut self, input: &str, token: &Token) -> Result<&Pin> {
        if self.pin.is_none() {
            let uris: Vec<&Pkcs11Uri> = self.uris.iter().collect();
            self.pin = Some(pin::user_pin(&uris, input, token.info.label())?);
        }
        self.pin
            .as_ref()
            .ok_or_else(|| Error::Internal("PIN not resolved".into()))
    }
}

/// Logs the user in once; a wrong PIN fails at once with the token's retry state.
fn log_in(module: &Module, open: &mut OpenToken, pins: &mut PinState, input: &str) -> Result<()> {
    if open.logged_in || !open.token.info.login_required() {
        return Ok(());
    }
    let (result, origin) = if open.token.info.protected_authentication_path() {
        // A PIN pad or biometric reader takes the PIN itself.
        USER_LOGINS.fetch_add(1, Ordering::SeqCst);
        (
            open.session.login(UserType::User, None),
            "the protected authentication path".to_string(),
        )
    } else {
        let pin = pins.get(input, &open.token)?;
        // AuthPin is a secrecy::SecretString: zeroized when dropped.
        let secret = AuthPin::from(pin.value.as_str());
        USER_LOGINS.fetch_add(1, Ordering::SeqCst);
        (
            open.session.login(UserType::User, Some(&secret)),
            pin.origin.clone(),
        )
    };
    finish_login(module, &open.token, result, &origin, input)?;
    open.logged_in = true;
    Ok(())
}

fn finish_login(
    module: &Module,
    token: &Token,
    result: cryptoki::error::Result<()>,
    origin: &str,
    input: &str,
) -> Result<()> {
    match result {
        // Login state is per application: another session of ours already logged in.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
            let state = module
                .context
                .get_token_info(token.slot)
                .map(|info| retry_state(&info))
                .unwrap_or_else(|_| "the token did not say how many tries are left".into());
            Err(Error::bad_input(
                input,
                format!(
                    "token {} rejected the PIN from {origin} (CKR_PIN_INCORRECT; {state}); not retrying: fix the PIN before trying again",
                    token.describe()
                ),
            ))
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(Error::bad_input(
            input,
            format!(
                "the user PIN of token {} is locked (CKR_PIN_LOCKED); unlock it with the SO PIN or PUK",
                token.describe()
            ),
        )),
        Err(CkError::Pkcs11(RvError::PinExpired, _)) => Err(Error::bad_input(
            input,
            format!(
                "the user PIN of token {} has expired (CKR_PIN_EXPIRED); set a new one with the token's tools",
                token.describe()
            ),
        )),
        Err(e) => Err(token_error(
            input,
            &format!("logging in to token {}", token.describe()),
            &e,
        )),
    }
}

/// What the token says about the remaining PIN tries.
fn retry_state(info: &TokenInfo) -> String {
    if info.user_pin_locked() {
        "the PIN is now locked (CKF_USER_PIN_LOCKED)".into()
    } else if info.user_pin_final_try() {
        "one try left before the PIN locks (CKF_USER_PIN_FINAL_TRY)".into()
    } else if info.user_pin_count_low() {
        "few tries left (CKF_USER_PIN_COUNT_LOW)".into()
    } else {
        "the token reports no retry limit reached".into()
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// Finds the certificates a URI selects: without login first, then (when exactly one token
/// matches and it requires a login) after logging in.
fn find_certificates(
    module: &Module,
    uri: &Pkcs11Uri,
    input: &str,
    pins: &mut PinState,
) -> Result<(Vec<OpenToken>, Vec<TokenCert>)> {
    if let Some(kind) = uri.object_type.filter(|k| *k != ObjectType::Cert) {
        return Err(Error::invalid_argument(
            input,
            format!(
                "the URI says type={}, but a certificate is wanted: use type=cert or leave type out",
                kind.name()
            ),
        ));
    }
    let tokens = tokens_matching(module, uri, input)?;
    let search = template(uri, ObjectClass::CERTIFICATE);
    let mut open = Vec::new();
    let mut certs = Vec::new();
    for token in tokens {
        let session = open_session(module, &token, input)?;
        open.push(OpenToken {
            token,
            session,
            logged_in: false,
        });
        let index = open.len() - 1;
        certs.extend(certificates_in(&open[index], index, &search, input)?);
    }
    if certs.is_empty() && open.len() == 1 && open[0].token.info.login_required() {
        log_in(module, &mut open[0], pins, input)?;
        certs = certificates_in(&open[0], 0, &search, input)?;
    }
    // A stable order (token, then CKA_ID) whatever order the token returns objects in.
    certs.sort_by(|a, b| (a.token, &a.id, &a.label).cmp(&(b.token, &b.id, &b.label)));
    Ok((open, certs))
}

fn describe_search(uri: &Pkcs11Uri, what: &str) -> String {
    let mut parts = vec![what.to_string()];
    if let Some(label) = &uri.object {
        parts.push(format!("object={}", String::from_utf8_lossy(label)));
    }
    if let Some(id) = &uri.id {
        parts.push(format!("id={}", uri::percent_encode(id, true)));
    }
    parts.join(" with ")
}

/// The token's CA certificates that chain `leaf` to its issuer, nearest first; never the leaf
/// itself and never a self-signed root (the trust anchor holds that).
fn token_chain(open: &OpenToken, leaf: &Certificate, input: &str) -> Result<Vec<Certificate>> {
    let all = certificates_in(
        open,
        0,
        &[Attribute::Class(ObjectClass::CERTIFICATE)],
        input,
    )?;
    let mut chain: Vec<Certificate> = Vec::new();
    let mut current = leaf.clone();
    // Roles Anywhere accepts at most 5 certificates, the leaf included.
    while chain.len() < 4 {
        let Ok((_, child)) = X509Certificate::from_der(&current.der) else {
            break;
        };
        let issuer = all.iter().map(|c| &c.cert).find(|candidate| {
            candidate.der != leaf.der
                && !chain.iter().any(|c| c.der == candidate.der)
                && candidate.subject == current.issuer
                && X509Certificate::from_der(&candidate.der).is_ok_and(|(_, parent)| {
                    child.verify_signature(Some(parent.public_key())).is_ok()
                })
        });
        let Some(issuer) = issuer else { break };
        if issuer.subject == issuer.issuer {
            break;
        }
        chain.push(issuer.clone());
        current = issuer.clone();
    }
    Ok(chain)
}

/// `read-certificate-data` for a URI: the matching certificates with their full URIs, in the
/// layout of AWS's helper.
pub fn list_certificates(uri_text: &str, lib_flag: Option<&str>) -> Result<String> {
    let uri = Pkcs11Uri::parse(uri_text, "--certificate")?;
    let input = format!("--certificate {}", uri.redacted());
    let (path, module_input) = module_location(lib_flag, &[&uri])?;
    let module = load_module(&path, &module_input)?;
    let mut pins = PinState {
        uris: vec![uri.clone()],
        pin: None,
    };
    let (_open, certs) = find_certificates(&module, &uri, &input, &mut pins)?;
    if certs.is_empty() {
        return Ok("No matching identities\n".into());
    }
    let mut out = String::from("Matching identities\n");
    for (index, found) in certs.iter().enumerate() {
        let fingerprint =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &found.cert.der);
        out.push_str(&format!(
            "{}) {} \"{}\"\n\tIssuer: \"{}\"\n\tSerial: {}\n\tURI: {}\n",
            index + 1,
            hex::encode(fingerprint.as_ref()),
            found.cert.subject,
            found.cert.issuer,
            found.cert.serial_decimal,
            found.uri
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Keys

/// What a private-key object tells about itself.
struct KeyObject {
    token: usize,
    handle: ObjectHandle,
    id: Vec<u8>,
    label: Vec<u8>,
    always_authenticate: bool,
    /// `None` when the token holds no public half (no public-key or certificate object).
    public: Option<PublicKey>,
    uri: String,
}

fn private_keys_in(
    open: &OpenToken,
    index: usize,
    template: &[Attribute],
    input: &str,
) -> Result<Vec<KeyObject>> {
    let handles = open
        .session
        .find_objects(template)
        .map_err(|e| token_error(input, "searching the token for private keys", &e))?;
    let mut keys = Vec::new();
    for handle in handles {
        let attributes = open
            .session
            .get_attributes(
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::Id,
                    AttributeType::Label,
                    AttributeType::Modulus,
                    AttributeType::PublicExponent,
                    AttributeType::EcParams,
                    AttributeType::AlwaysAuthenticate,
                ],
            )
            .map_err(|e| token_error(input, "reading a private key's attributes", &e))?;
        let mut key_type = None;
        let (mut id, mut label, mut modulus, mut exponent, mut ec_params) =
            (Vec::new(), Vec::new(), None, None, None);
        let mut always_authenticate = false;
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = v,
                Attribute::Modulus(v) => modulus = Some(v),
                Attribute::PublicExponent(v) => exponent = Some(v),
                Attribute::EcParams(v) => ec_params = Some(v),
                Attribute::AlwaysAuthenticate(v) => always_authenticate = v,
                _ => {}
            }
        }
        let public = match key_type {
            Some(KeyType::RSA) => match (modulus, exponent) {
                (Some(n), Some(e)) => Some(super::der::rsa_public_key(&n, &e)),
                _ => None,
            },
            Some(KeyType::EC) => ec_params
                .as_deref()
                .and_then(curve_of)
                .and_then(|curve| ec_public(open, curve, &id)),
            // Other key types cannot sign for Roles Anywhere; they are not candidates.
            _ => continue,
        };
        let uri = open.token.object_uri(&id, &label, ObjectType::Private);
        keys.push(KeyObject {
            token: index,
            handle,
            id,
            label,
            always_authenticate,
            public,
            uri,
        });
    }
    Ok(keys)
}

/// The curve an EC key's CKA_EC_PARAMS (a DER named-curve OID) names.
fn curve_of(params: &[u8]) -> Option<Curve> {
    match params {
        [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => Some(Curve::P256),
        [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22] => Some(Curve::P384),
        [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23] => Some(Curve::P521),
        _ => None,
    }
}

/// An EC private key's public point, from the public-key object or certificate with its CKA_ID.
fn ec_public(open: &OpenToken, curve: Curve, id: &[u8]) -> Option<PublicKey> {
    if id.is_empty() {
        return None;
    }
    let public_objects = open
        .session
        .find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Id(id.to_vec()),
        ])
        .unwrap_or_default();
    for handle in public_objects {
        if let Ok(attributes) = open
            .session
            .get_attributes(handle, &[AttributeType::EcPoint])
            && let Some(Attribute::EcPoint(encoded)) = attributes.into_iter().next()
            && let Some(point) = normalise_point(curve, &encoded)
        {
            return Some(PublicKey::Ec { curve, point });
        }
    }
    let certs = open
        .session
        .find_objects(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::Id(id.to_vec()),
        ])
        .unwrap_or_default();
    for handle in certs {
        if let Ok(attributes) = open.session.get_attributes(handle, &[AttributeType::Value])
            && let Some(Attribute::Value(der)) = attributes.into_iter().next()
            && let Ok(cert) = Certificate::from_der(&der, "token certificate")
            && let Ok(public @ PublicKey::Ec { curve: c, .. }) = cert.public_key
            && c == curve
        {
            return Some(public);
        }
    }
    None
}

/// The uncompressed point from CKA_EC_POINT, which tokens give DER-wrapped (an OCTET STRING,
/// as the standard says) or raw.
fn normalise_point(curve: Curve, encoded: &[u8]) -> Option<Vec<u8>> {
    let unwrapped = match encoded {
        [0x04, len, rest @ ..] if *len as usize == rest.len() && *len < 0x80 => rest,
        [0x04, 0x81, len, rest @ ..] if *len as usize == rest.len() => rest,
        other => other,
    };
    let point = match curve {
        Curve::P256 => p256::PublicKey::from_sec1_bytes(unwrapped)
            .ok()?
            .to_sec1_bytes(),
        Curve::P384 => p384::PublicKey::from_sec1_bytes(unwrapped)
            .ok()?
            .to_sec1_bytes(),
        Curve::P521 => p521::PublicKey::from_sec1_bytes(unwrapped)
            .ok()?
            .to_sec1_bytes(),
    };
    Some(point.into_vec())
}

/// PKCS#11's raw `r || s` ECDSA signature as ASN.1 DER `SEQUENCE { r, s }`.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    Some(super::der::ecdsa_signature(r, s))
}

/// The DigestInfo prefixes for CKM_RSA_PKCS over a locally computed hash (RFC 8017 §9.2).
fn digest_info_prefix(digest: Digest) -> &'static [u8] {
    match digest {
        Digest::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        Digest::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Digest::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// Which of CKM_SHA{256,384,512}_RSA_PKCS the token implements.
fn rsa_hash_mechanisms(module: &Module, slot: Slot) -> [bool; 3] {
    let list = module.context.get_mechanism_list(slot).unwrap_or_default();
    [
        list.contains(&MechanismType::SHA256_RSA_PKCS),
        list.contains(&MechanismType::SHA384_RSA_PKCS),
        list.contains(&MechanismType::SHA512_RSA_PKCS),
    ]
}

// ---------------------------------------------------------------------------------------------
// Loading

/// What a PKCS#11 load yields: the leaf (when one was given), the token's chain for it, the signer.
pub struct TokenIdentity {
    pub leaf: Option<Certificate>,
    /// From the token, when the leaf came from the token; otherwise empty.
    pub chain: Vec<Certificate>,
    /// `None` when the key is a file: the caller loads it as it loads any key file.
    pub signer: Option<Box<dyn Signer>>,
    pub cert_input: String,
    pub key_input: String,
}

/// Loads the certificate and key that `--certificate` / `--private-key` name, either of which may
/// be a `pkcs11:` URI (a missing `--private-key` means the certificate's URI, as in AWS's helper).
pub fn load(key: &IdentitySpec, want_token_chain: bool) -> Result<TokenIdentity> {
    load_objects(key, want_token_chain, true)
}

/// [`load`], leaving the key alone unless `want_key`.
fn load_objects(
    key: &IdentitySpec,
    want_token_chain: bool,
    want_key: bool,
) -> Result<TokenIdentity> {
    let cert_arg = key.certificate.as_deref();
    let key_arg = key.private_key.as_deref();
    let cert_uri = match cert_arg.filter(|v| is_pkcs11_uri(v)) {
        Some(text) => Some(Pkcs11Uri::parse(text, "--certificate")?),
        None => None,
    };
    let key_uri = match key_arg {
        Some(text) if is_pkcs11_uri(text) => Some(Pkcs11Uri::parse(text, "--private-key")?),
        Some(_) => None,
        None if !want_key => None,
        // The certificate's URI names its key too; its `type=cert` does not carry over.
        None => cert_uri.clone().map(|uri| Pkcs11Uri {
            object_type: None,
            ..uri
        }),
    };
    let cert_input = match (&cert_uri, cert_arg) {
        (Some(uri), _) => format!("--certificate {}", uri.redacted()),
        (None, Some(path)) => format!("--certificate {path}"),
        (None, None) => "--certificate".to_string(),
    };
    let key_input = match (&key_uri, key_arg) {
        (Some(uri), Some(_)) => format!("--private-key {}", uri.redacted()),
        (Some(uri), None) => format!("--certificate {}", uri.redacted()),
        (None, Some(path)) => format!("--private-key {path}"),
        (None, None) => "--private-key".to_string(),
    };
    let uris: Vec<&Pkcs11Uri> = key_uri.iter().chain(cert_uri.iter()).collect();
    let (path, module_input) = module_location(key.pkcs11_lib.as_deref(), &uris)?;
    let module = load_module(&path, &module_input)?;
    let mut pins = PinState {
        uris: uris.iter().map(|u| (*u).clone()).collect(),
        pin: None,
    };

    // The certificate: from the token, else from its file.
    let mut open: Vec<OpenToken> = Vec::new();
    let mut leaf_token: Option<(usize, Vec<u8>)> = None;
    let leaf = match (&cert_uri, cert_arg) {
        (Some(uri), _) => {
            let (tokens, certs) = find_certificates(&module, uri, &cert_input, &mut pins)?;
            open = tokens;
            match certs.len() {
                0 => {
                    return Err(Error::bad_input(
                        &cert_input,
                        format!(
                            "no certificate found: searched {} on token(s) {}; list them with `p11tool --list-all-certs` or `read-certificate-data --certificate 'pkcs11:'`",
                            describe_search(uri, "certificates"),
                            open.iter()
                                .map(|o| o.token.describe())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                1 => {}
                _ => {
                    return Err(Error::bad_input(
                        &cert_input,
                        format!(
                            "{} certificates match; give one of these URIs: {}",
                            certs.len(),
                            certs
                                .iter()
                                .map(|c| c.uri.as_str())
                                .collect::<Vec<_>>()
                                .join(" | ")
                        ),
                    ));
                }
            }
            let found = certs
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal("no certificate".into()))?;
            leaf_token = Some((found.token, found.id));
            Some(found.cert)
        }
        (None, Some(path)) => Some(certificate::load_leaf(Path::new(path))?),
        (None, None) => None,
    };
    let chain = match (&leaf, &leaf_token) {
        (Some(leaf), Some((index, _))) if want_token_chain => {
            token_chain(&open[*index], leaf, &cert_input)?
        }
        _ => Vec::new(),
    };

    // The key: from the token, else from its file.
    let signer: Option<Box<dyn Signer>> = match (&key_uri, key_arg) {
        (Some(uri), _) => Some(Box::new(find_key(
            &module,
            uri,
            &key_input,
            leaf.as_ref(),
            leaf_token,
            open,
            pins,
            key.reuse_pin,
        )?)),
        (None, _) => None,
    };
    Ok(TokenIdentity {
        leaf,
        chain,
        signer,
        cert_input,
        key_input,
    })
}

/// The certificate `--certificate pkcs11:…` names, without looking for its key.
pub fn load_certificate(key: &IdentitySpec) -> Result<Certificate> {
    load_objects(key, false, false)?
        .leaf
        .ok_or_else(|| Error::Internal("PKCS#11 load returned no certificate".into()))
}

#[allow(clippy::too_many_arguments)]
fn find_key(
    module: &Arc<Module>,
    uri: &Pkcs11Uri,
    input: &str,
    leaf: Option<&Certificate>,
    leaf_token: Option<(usize, Vec<u8>)>,
    mut open: Vec<OpenToken>,
    mut pins: PinState,
    reuse_pin: bool,
) -> Result<TokenSigner> {
    if let Some(kind) = uri.object_type.filter(|k| *k != ObjectType::Private) {
        return Err(Error::invalid_argument(
            input,
            format!(
                "the URI says type={}, but a private key is wanted: use type=private or leave type out",
                kind.name()
            ),
        ));
    }
    // Search the certificate's token when the key URI selects it too; else every matching token.
    let leaf_index = leaf_token.as_ref().map(|(i, _)| *i);
    let mut candidates: Vec<usize> = match leaf_index {
        Some(i) if token_matches(uri, &open[i].token) => vec![i],
        _ => Vec::new(),
    };
    if candidates.is_empty() {
        for token in tokens_matching(module, uri, input)? {
            let existing = open.iter().position(|o| o.token.slot == token.slot);
            let index = match existing {
                Some(i) => i,
                None => {
                    let session = open_session(module, &token, input)?;
                    open.push(OpenToken {
                        token,
                        session,
                        logged_in: false,
                    });
                    open.len() - 1
                }
            };
            candidates.push(index);
        }
    }
    let search = template(uri, ObjectClass::PRIVATE_KEY);
    let mut keys = Vec::new();
    for &index in &candidates {
        keys.extend(private_keys_in(&open[index], index, &search, input)?);
    }
    if keys.is_empty() {
        // Private keys are private objects: visible only after login, which is tried only when
        // exactly one token can hold the key (a PIN is never sent to several tokens).
        if candidates.len() > 1 {
            return Err(Error::bad_input(
                input,
                format!(
                    "{} tokens match the URI and none shows the key before login; add token= or serial= to pick one: {}",
                    candidates.len(),
                    candidates
                        .iter()
                        .map(|i| open[*i].token.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let index = candidates[0];
        log_in(module, &mut open[index], &mut pins, input)?;
        keys = private_keys_in(&open[index], index, &search, input)?;
        if keys.is_empty()
            && let Some((cert_index, id)) = &leaf_token
            && *cert_index == index
            && !id.is_empty()
            && uri.id.is_none()
        {
            // The certificate's CKA_ID names its key (PKCS#11 convention) even when labels differ.
            let by_id = [
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(id.clone()),
            ];
            keys = private_keys_in(&open[index], index, &by_id, input)?;
        }
    }
    if keys.is_empty() {
        return Err(Error::bad_input(
            input,
            format!(
                "no private key found: searched {}{} on token(s) {} after login; check object=/id= with `p11tool --login --list-privkeys`",
                describe_search(uri, "private keys"),
                match &leaf_token {
                    Some((_, id)) if !id.is_empty() => format!(
                        " and the certificate's id={}",
                        uri::percent_encode(id, true)
                    ),
                    _ => String::new(),
                },
                candidates
                    .iter()
                    .map(|i| open[*i].token.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let chosen = choose_key(keys, leaf, input)?;
    let mut public = chosen.public.clone();
    if public.is_none() {
        // No public half on the token: trust the certificate's key; the service checks the signature.
        public = leaf.and_then(|l| l.public_key.clone().ok());
    }
    let Some(public) = public else {
        return Err(Error::bad_input(
            input,
            format!(
                "cannot read the public half of EC key {}: the token has no public-key object or certificate with its id; store one, or give --certificate",
                chosen.uri
            ),
        ));
    };
    let index = chosen.token;
    // The signer needs the user logged in even when the key was visible before login.
    log_in(module, &mut open[index], &mut pins, input)?;
    let owner = open.swap_remove(index);
    let rsa_hashes = rsa_hash_mechanisms(module, owner.token.slot);
    tracing::debug!(key = %chosen.uri, always_authenticate = chosen.always_authenticate, "using the token key");
    Ok(TokenSigner {
        module: module.clone(),
        token_label: owner.token.info.label().to_string(),
        token_serial: owner.token.info.serial_number().to_string(),
        key_template: key_template(&chosen),
        input: input.to_string(),
        key_uri: chosen.uri,
        public,
        always_authenticate: chosen.always_authenticate,
        reuse_pin,
        rsa_hashes,
        pins: Mutex::new(pins),
        live: Mutex::new(Some(Live {
            session: owner.session,
            key: chosen.handle,
        })),
    })
}

/// A template that finds this key again after a new session (handles may change).
fn key_template(key: &KeyObject) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if !key.id.is_empty() {
        template.push(Attribute::Id(key.id.clone()));
    }
    if !key.label.is_empty() {
        template.push(Attribute::Label(key.label.clone()));
    }
    template
}

/// Picks the one key that belongs to the certificate (by public key), or the only key when there
/// is no certificate; otherwise lists the candidates.
fn choose_key(keys: Vec<KeyObject>, leaf: Option<&Certificate>, input: &str) -> Result<KeyObject> {
    let listing = |keys: &[KeyObject]| {
        keys.iter()
            .map(|k| k.uri.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let wanted = leaf.and_then(|l| l.public_key.as_ref().ok());
    let Some(wanted) = wanted else {
        if keys.len() == 1 {
            return keys
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal("no key".into()));
        }
        return Err(Error::bad_input(
            input,
            format!(
                "{} private keys match; give one of these URIs: {}",
                keys.len(),
                listing(&keys)
            ),
        ));
    };
    let matching: Vec<usize> = (0..keys.len())
        .filter(|i| keys[*i].public.as_ref() == Some(wanted))
        .collect();
    let unknown: Vec<usize> = (0..keys.len())
        .filter(|i| keys[*i].public.is_none())
        .collect();
    let pick = match (matching.len(), unknown.len()) {
        (1, _) => matching[0],
        (0, 1) => unknown[0],
        (0, 0) => {
            return Err(Error::bad_input(
                input,
                format!(
                    "no private key on the token matches the certificate's public key ({}); keys found: {}",
                    wanted.describe(),
                    listing(&keys)
                ),
            ));
        }
        _ => {
            let candidates: Vec<&KeyObject> = matching
                .iter()
                .chain(unknown.iter())
                .map(|i| &keys[*i])
                .collect();
            return Err(Error::bad_input(
                input,
                format!(
                    "{} private keys may belong to the certificate; give one of these URIs: {}",
                    candidates.len(),
                    candidates
                        .iter()
                        .map(|k| k.uri.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                ),
            ));
        }
    };
    keys.into_iter()
        .nth(pick)
        .ok_or_else(|| Error::Internal("key index".into()))
}

// ---------------------------------------------------------------------------------------------
// The signer

/// A live session on the key's token, logged in, and the key's handle in it.
struct Live {
    session: Session,
    key: ObjectHandle,
}

/// A private key on a token. Keeps one session and one login for its whole life (a long-running
/// process signs without logging in again), and reopens them by itself when the token drops them.
pub struct TokenSigner {
    module: Arc<Module>,
    token_label: String,
    token_serial: String,
    key_template: Vec<Attribute>,
    input: String,
    key_uri: String,
    public: PublicKey,
    always_authenticate: bool,
    reuse_pin: bool,
    rsa_hashes: [bool; 3],
    pins: Mutex<PinState>,
    live: Mutex<Option<Live>>,
}

/// How one signature is made.
#[derive(Clone, Copy)]
enum SignMechanism {
    Ecdsa,
    RsaPkcs,
    Sha256RsaPkcs,
    Sha384RsaPkcs,
    Sha512RsaPkcs,
}

impl SignMechanism {
    fn mechanism(self) -> Mechanism<'static> {
        match self {
            SignMechanism::Ecdsa => Mechanism::Ecdsa,
            SignMechanism::RsaPkcs => Mechanism::RsaPkcs,
            SignMechanism::Sha256RsaPkcs => Mechanism::Sha256RsaPkcs,
            SignMechanism::Sha384RsaPkcs => Mechanism::Sha384RsaPkcs,
            SignMechanism::Sha512RsaPkcs => Mechanism::Sha512RsaPkcs,
        }
    }

    fn raw(self) -> cryptoki_sys::CK_MECHANISM_TYPE {
        match self {
            SignMechanism::Ecdsa => cryptoki_sys::CKM_ECDSA,
            SignMechanism::RsaPkcs => cryptoki_sys::CKM_RSA_PKCS,
            SignMechanism::Sha256RsaPkcs => cryptoki_sys::CKM_SHA256_RSA_PKCS,
            SignMechanism::Sha384RsaPkcs => cryptoki_sys::CKM_SHA384_RSA_PKCS,
            SignMechanism::Sha512RsaPkcs => cryptoki_sys::CKM_SHA512_RSA_PKCS,
        }
    }
}

/// Errors after which a new session and login may succeed.
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent,
            _
        )
    )
}

impl TokenSigner {
    fn mechanism_and_data(
        &self,
        message: &[u8],
        digest: Digest,
    ) -> Result<(SignMechanism, Vec<u8>)> {
        Ok(match &self.public {
            // Tokens rarely implement CKM_ECDSA_SHA*: hash here, sign the digest.
            PublicKey::Ec { .. } => (SignMechanism::Ecdsa, digest.hash(message)),
            PublicKey::Rsa { .. } => {
                let (available, mechanism) = match digest {
                    Digest::Sha256 => (self.rsa_hashes[0], SignMechanism::Sha256RsaPkcs),
                    Digest::Sha384 => (self.rsa_hashes[1], SignMechanism::Sha384RsaPkcs),
                    Digest::Sha512 => (self.rsa_hashes[2], SignMechanism::Sha512RsaPkcs),
                };
                if available {
                    (mechanism, message.to_vec())
                } else {
                    let mut data = digest_info_prefix(digest).to_vec();
                    data.extend(digest.hash(message));
                    (SignMechanism::RsaPkcs, data)
                }
            }
            // Only RSA and EC keys are read from tokens (see `private_keys_in`).
            other => {
                return Err(Error::bad_input(
                    &self.input,
                    format!(
                        "{} keys cannot sign through PKCS#11 in this build; use an RSA or EC key",
                        other.describe()
                    ),
                ));
            }
        })
    }

    /// A new session on the same token (found again by label and serial), logged in, and the key.
    fn reopen(&self) -> Result<Live> {
        let tokens = all_tokens(&self.module, &self.input)?;
        let Some(token) = tokens.into_iter().find(|t| {
            t.info.label() == self.token_label && t.info.serial_number() == self.token_serial
        }) else {
            return Err(Error::bad_input(
                &self.input,
                format!(
                    "token '{}' (serial {}) is no longer present; insert it and retry",
                    self.token_label, self.token_serial
                ),
            ));
        };
        let session = open_session(&self.module, &token, &self.input)?;
        let mut open = OpenToken {
            token,
            session,
            logged_in: false,
        };
        {
            let mut pins = self
                .pins
                .lock()
                .map_err(|_| Error::Internal("PIN lock poisoned".into()))?;
            log_in(&self.module, &mut open, &mut pins, &self.input)?;
        }
        let handles = open
            .session
            .find_objects(&self.key_template)
            .map_err(|e| token_error(&self.input, "finding the key again", &e))?;
        let [key] = handles[..] else {
            return Err(Error::bad_input(
                &self.input,
                format!(
                    "after reopening the session, {} keys match {} instead of one; give a URI with id=",
                    handles.len(),
                    self.key_uri
                ),
            ));
        };
        Ok(Live {
            session: open.session,
            key,
        })
    }

    fn sign_in(
        &self,
        live: &Live,
        mechanism: SignMechanism,
        data: &[u8],
    ) -> std::result::Result<Vec<u8>, SignFailure> {
        if !self.always_authenticate {
            return live
                .session
                .sign(&mechanism.mechanism(), live.key, data)
                .map_err(SignFailure::Token);
        }
        let raw = self.module.raw().map_err(|why| {
            SignFailure::Other(Error::bad_input(
                &self.input,
                format!("the key needs a login before each signature (CKA_ALWAYS_AUTHENTICATE), and the module's raw functions are unusable: {why}"),
            ))
        })?;
        let pin = self.context_pin().map_err(SignFailure::Other)?;
        raw.sign_with_context_login(
            live.session.handle(),
            mechanism.raw(),
            live.key.handle(),
            pin.as_bytes(),
            data,
        )
        .map_err(SignFailure::Token)
    }

    /// The PIN for a context-specific login: the user PIN with `--reuse-pin`, else asked for.
    fn context_pin(&self) -> Result<zeroize::Zeroizing<String>> {
        if self.reuse_pin {
            let mut pins = self
                .pins
                .lock()
                .map_err(|_| Error::Internal("PIN lock poisoned".into()))?;
            if pins.pin.is_none() {
                let uris: Vec<&Pkcs11Uri> = pins.uris.iter().collect();
                pins.pin = Some(pin::user_pin(&uris, &self.input, &self.token_label)?);
            }
            return pins
                .pin
                .as_ref()
                .map(|p| p.value.clone())
                .ok_or_else(|| Error::Internal("PIN not resolved".into()));
        }
        pin::prompt(
            &format!("PIN to sign with {}: ", self.key_uri),
            &self.input,
            "this key needs a login before each signature (CKA_ALWAYS_AUTHENTICATE); give --reuse-pin to use the token's user PIN for it",
        )
    }
}

enum SignFailure {
    Token(CkError),
    Other(Error),
}

impl Signer for TokenSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        let (mechanism, data) = self.mechanism_and_data(message, digest)?;
        let mut live = self
            .live
            .lock()
            .map_err(|_| Error::Internal("the PKCS#11 session lock is poisoned".into()))?;
        let mut reopened = false;
        let signature = loop {
            if live.is_none() {
                *live = Some(self.reopen()?);
                reopened = true;
            }
            let Some(current) = live.as_ref() else {
                return Err(Error::Internal("no PKCS#11 session".into()));
            };
            match self.sign_in(current, mechanism, &data) {
                Ok(signature) => break signature,
                Err(SignFailure::Token(e)) if !reopened && session_lost(&e) => {
                    tracing::debug!(error = %ck(&e), "the token dropped the session; reopening it");
                    *live = None;
                }
                Err(SignFailure::Token(CkError::Pkcs11(RvError::PinIncorrect, _))) => {
                    return Err(Error::bad_input(
                        &self.input,
                        format!(
                            "token '{}' rejected the PIN for the key's context-specific login (CKR_PIN_INCORRECT); not retrying",
                            self.token_label
                        ),
                    ));
                }
                Err(SignFailure::Token(e)) => {
                    return Err(token_error(
                        &self.input,
                        &format!("signing with {}", self.key_uri),
                        &e,
                    ));
                }
                Err(SignFailure::Other(e)) => return Err(e),
            }
        };
        match self.public {
            PublicKey::Ec { .. } => ecdsa_raw_to_der(&signature).ok_or_else(|| {
                Error::bad_input(
                    &self.input,
                    format!(
                        "the token returned a malformed ECDSA signature ({} bytes)",
                        signature.len()
                    ),
                )
            }),
            _ => Ok(signature),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// `C_Login returned CKR_PIN_INCORRECT`-style text: short, unlike cryptoki's own messages.
fn ck(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => {
            format!("C_{} returned {}", function_name(*function), ckr_name(rv))
        }
        other => other.to_string(),
    }
}

fn function_name(function: Function) -> String {
    format!("{function:?}")
}

/// `PinIncorrect` → `CKR_PIN_INCORRECT`.
fn ckr_name(rv: &RvError) -> String {
    let camel = format!("{rv:?}");
    let mut out = String::from("CKR_");
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn token_error(input: &str, doing: &str, e: &CkError) -> Error {
    let advice = match e {
        CkError::Pkcs11(RvError::DeviceRemoved | RvError::TokenNotPresent, _) => {
            "; insert the token and retry"
        }
        CkError::Pkcs11(RvError::UserNotLoggedIn, _) => "; the token wants a login: give the PIN",
        CkError::Pkcs11(RvError::MechanismInvalid, _) => {
            "; the token cannot make this kind of signature"
        }
        _ => "",
    };
    Error::bad_input(input, format!("{doing}: {}{advice}", ck(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ecdsa_signatures_become_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero
        raw[32] = 0x00; // s has leading zeros to strip
        raw[33] = 0x01;
        let der = ecdsa_raw_to_der(&raw).unwrap();
        // The DER parses as a P-256 signature and holds exactly the raw r and s.
        let sig = p256::ecdsa::Signature::from_der(&der)
            .unwrap_or_else(|e| panic!("not a DER ECDSA signature ({e}): {der:02x?}"));
        assert_eq!(sig.to_bytes().as_slice(), &raw[..], "{der:02x?}");
        assert_eq!(&der[..5], &[0x30, der[1], 0x02, 0x21, 0x00]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_none());
        // P-521: lengths past 127 bytes need the long form.
        let raw = vec![0xffu8; 132];
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(&der[..3], &[0x30, 0x81, 0x8a]);
    }

    #[test]
    fn rsa_public_keys_are_canonical_pkcs1() {
        let PublicKey::Rsa { pkcs1_der, bits } =
            crate::identity::der::rsa_public_key(&[0x00, 0xc0, 0x01], &[0x01, 0x00, 0x01])
        else {
            panic!("RSA");
        };
        assert_eq!(bits, 16);
        assert_eq!(
            pkcs1_der,
            [
                0x30, 0x0a, 0x02, 0x03, 0x00, 0xc0, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
    }

    #[test]
    fn digest_info_prefixes_match_the_rsa_crate() {
        use rsa::pkcs1v15::Pkcs1v15Sign;
        for (digest, scheme) in [
            (Digest::Sha256, Pkcs1v15Sign::new::<sha2::Sha256>()),
            (Digest::Sha384, Pkcs1v15Sign::new::<sha2::Sha384>()),
            (Digest::Sha512, Pkcs1v15Sign::new::<sha2::Sha512>()),
        ] {
            assert_eq!(digest_info_prefix(digest), &scheme.prefix[..], "{digest:?}");
        }
    }

    #[test]
    fn return_codes_read_like_the_standard() {
        assert_eq!(ckr_name(&RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(
            ck(&CkError::Pkcs11(
                RvError::SessionHandleInvalid,
                Function::Sign
            )),
            "C_Sign returned CKR_SESSION_HANDLE_INVALID"
        );
    }

    #[test]
    fn curve_oids_and_points() {
        assert_eq!(
            curve_of(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
            Some(Curve::P384)
        );
        assert_eq!(curve_of(&[0x06, 0x01, 0x00]), None);
        let key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let point = key.public_key().to_sec1_bytes().into_vec();
        let mut wrapped = vec![0x04, point.len() as u8];
        wrapped.extend(&point);
        assert_eq!(normalise_point(Curve::P256, &wrapped), Some(point.clone()));
        assert_eq!(normalise_point(Curve::P256, &point), Some(point));
    }

    #[test]
    fn module_choice_follows_flag_then_uri_then_proxy() {
        let uri =
            Pkcs11Uri::parse("pkcs11:token=t?module-path=/opt/m.so", "--private-key").unwrap();
        let (path, input) = module_location(Some("/flag.so"), &[&uri]).unwrap();
        assert_eq!(path, PathBuf::from("/flag.so"));
        assert!(input.contains("--pkcs11-lib"));
        let (path, _) = module_location(None, &[&uri]).unwrap();
        assert_eq!(path, PathBuf::from("/opt/m.so"));
        let bare = Pkcs11Uri::parse("pkcs11:token=t", "--private-key").unwrap();
        match module_location(None, &[&bare]) {
            Ok((path, _)) => assert!(path.to_string_lossy().contains("p11-kit-proxy")),
            Err(e) => assert!(e.to_string().contains("p11-kit-proxy"), "{e}"),
        }
    }
}
