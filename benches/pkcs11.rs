//! PKCS#11 signatures per second through SoftHSM2: one `TokenSigner` that keeps its session and
//! login, next to opening a session, logging in, finding the key, signing and closing the session
//! for every signature (what AWS's helper does), through cryptoki directly. Makes its own token
//! with pkcs11/make-softhsm-token.sh (`cargo bench --bench pkcs11`; `PKCS11_BENCH_MS` sets the
//! time budget of each measurement).

mod common;

use std::path::Path;
use std::process::Command;

use common::rate;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use rolesanywhere_helper::identity::{Digest, pkcs11};
use rolesanywhere_helper::settings::identity::IdentitySpec;

const PIN: &str = "1234";

fn main() {
    let budget = common::budget("PKCS11_BENCH_MS");
    let dir = tempfile::Builder::new()
        .prefix("rah-pkcs11-bench")
        .tempdir()
        .expect("temp dir");
    let label = format!("rah-bench-{}", std::process::id());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkcs11/make-softhsm-token.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(dir.path())
        .env("TOKEN_LABEL", &label)
        .env("USER_PIN", PIN)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run pkcs11/make-softhsm-token.sh");
    assert!(
        status.success(),
        "making the SoftHSM2 token failed (install softhsm2, opensc, gnutls-bin)"
    );
    let env = std::fs::read_to_string(dir.path().join("env")).expect("the token's env file");
    let value = |key: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} missing from the token's env file"))
            .to_string()
    };
    let module = value("PKCS11_MODULE");
    // SAFETY: single-threaded so far, and SoftHSM reads SOFTHSM2_CONF once, at C_Initialize,
    // which happens below.
    unsafe { std::env::set_var("SOFTHSM2_CONF", value("SOFTHSM2_CONF")) };

    // The per-signature path goes through cryptoki on the same (shared) module state.
    let context = Pkcs11::new(&module).expect("load the module");
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = context
        .get_slots_with_initialized_token()
        .expect("slots")
        .into_iter()
        .find(|s| context.get_token_info(*s).is_ok_and(|t| t.label() == label))
        .expect("the bench token");

    let message = vec![b'x'; 180];
    println!(
        "PKCS#11 signatures per second through SoftHSM2 (budget {budget:?} each; SHA-256, as for CreateSession)"
    );
    for (name, ec) in [("ec256", true), ("rsa2048", false)] {
        let uri = format!("pkcs11:token={label};object={name}?pin-value={PIN}");
        let key = IdentitySpec {
            certificate: Some(uri.clone()),
            private_key: Some(uri),
            pkcs11_lib: Some(module.clone()),
            ..Default::default()
        };
        let logins_before = pkcs11::user_login_count();
        let signer = pkcs11::load(&key, false)
            .expect("load the token key")
            .signer
            .expect("a token signer");
        let kept_rate = rate(budget, || {
            signer.sign(&message, Digest::Sha256).expect("sign");
        });
        assert_eq!(
            pkcs11::user_login_count() - logins_before,
            1,
            "the kept signer logged in once"
        );
        // Closing its session logs the token out, so every login below is a real one.
        drop(signer);

        // AWS's helper per signature: open a session, log in, find the key, sign, close.
        let pin = || AuthPin::new(PIN.into());
        let per_signature = || {
            let session = context.open_ro_session(slot).expect("C_OpenSession");
            session
                .login(UserType::User, Some(&pin()))
                .expect("C_Login (a fresh login each time)");
            let handles = session
                .find_objects(&[
                    Attribute::Class(ObjectClass::PRIVATE_KEY),
                    Attribute::Label(name.as_bytes().to_vec()),
                ])
                .expect("C_FindObjects");
            let signature = if ec {
                session.sign(
                    &Mechanism::Ecdsa,
                    handles[0],
                    &Digest::Sha256.hash(&message),
                )
            } else {
                session.sign(&Mechanism::Sha256RsaPkcs, handles[0], &message)
            }
            .expect("C_Sign");
            assert!(!signature.is_empty());
            session.close().expect("C_CloseSession");
        };
        let fresh_rate = rate(budget, per_signature);
        println!(
            "softhsm-{name}: kept session {kept_rate:.0} sign/s ({:.3} ms); session + login per signature {fresh_rate:.0} sign/s ({:.3} ms); x{:.1}",
            1000.0 / kept_rate,
            1000.0 / fresh_rate,
            kept_rate / fresh_rate
        );
    }
}
