//! Fault campaigns on the key's back-end, each bounded in time and printing its figures (run
//! with `--nocapture` to see them): swtpm stopped and started again under a running `serve`
//! with a TPM key, and the SoftHSM2 token taken away and brought back under a running `serve`
//! with a token key. While the back-end is away each refresh fails with a clear error and
//! `serve` keeps serving the last good credentials; once it is back `serve` recovers without
//! a restart.

use std::time::{Duration, Instant};

use crate::support::verifier::AnswerFault;
use crate::support::*;

const ROLE_NAME: &str = "test-role";

/// Credentials the endpoint issues live this long: longer than the back-end is away, so the
/// last good ones stay valid throughout.
const LIFE: Duration = Duration::from_secs(40);
/// How long the back-end is away.
const AWAY: Duration = Duration::from_secs(9);
/// Refresh after a tenth of the 40 s (4 s); retry waits of at most 2 s in the test mode.
const TENTH_REFRESH: (&str, &str) = ("RAH_TEST_REFRESH_FRACTION", "0.1");
const BACKOFF_STEP: Duration = Duration::from_secs(2);
/// The line `serve` logs for each failed refresh.
const FAILED_REFRESH: &str = "refreshing credentials failed";

/// The access key id IMDS serves now, after checking the answer is a valid "Success".
fn served_key(port: u16) -> String {
    let (status, doc, credentials) = imds_role_credentials(port, ROLE_NAME);
    assert_eq!(status, 200, "the last good credentials are served: {doc}");
    let (key, expiration) = credentials.unwrap();
    assert!(
        expiration > time::OffsetDateTime::now_utc(),
        "never expired credentials: {doc}"
    );
    key
}

/// An endpoint trusting the CA in `ca_pem` and issuing [`LIFE`] credentials.
fn endpoint_trusting(pki: &Pki, ca_pem: &std::path::Path) -> InProcessEndpoint {
    let ca = std::fs::read(ca_pem).unwrap();
    InProcessEndpoint::start_with(pki, |config| {
        config.trust_anchor_ca_pem = ca;
        config.answer_fault = AnswerFault::ShortLife {
            seconds: u32::try_from(LIFE.as_secs()).unwrap(),
        };
    })
}

/// Takes the back-end away under the running `serve` for [`AWAY`], then brings it back:
/// meanwhile the last good credentials are served and no CreateSession is made; each failed
/// refresh is logged with a line containing `error_needle`; afterwards new credentials are
/// served within one backoff step, with no restart. Prints the figures under `name`.
fn away_and_back(
    name: &str,
    serve: &mut Running,
    port: u16,
    endpoint: &InProcessEndpoint,
    take_away: impl FnOnce(),
    bring_back: impl FnOnce(),
    error_needle: &str,
) {
    serve.wait_ready();
    let issued_keys = || -> Vec<String> {
        endpoint
            .issued()
            .iter()
            .filter_map(|r| r.access_key_id.clone())
            .collect()
    };
    // A refresh or two with the back-end there.
    wait_for("two refreshes", Duration::from_secs(15), || {
        endpoint.issued().len() >= 2
    });
    let failed_before = serve.stderr().matches(FAILED_REFRESH).count();

    take_away();
    let taken = Instant::now();
    let issued_before = issued_keys();
    let mut served_last_good = 0u32;
    while taken.elapsed() < AWAY {
        let key = served_key(port);
        assert!(issued_keys().contains(&key), "{key} was issued");
        served_last_good += 1;
        serve.check_running();
        std::thread::sleep(Duration::from_millis(250));
    }
    let stderr = serve.stderr();
    let failed = stderr.matches(FAILED_REFRESH).count() - failed_before;
    assert!(
        failed >= 2,
        "{failed} refreshes failed while away: {stderr}"
    );
    // A refresh may have been signing as the back-end went: at most that one got through.
    assert!(
        issued_keys().len() <= issued_before.len() + 1,
        "no CreateSession without the key: {stderr}"
    );
    let error_line = stderr
        .lines()
        .rfind(|l| l.contains(FAILED_REFRESH))
        .unwrap()
        .to_string();
    assert!(
        error_line.contains(error_needle),
        "the error says what is wrong ({error_needle}): {error_line}"
    );

    let issued_while_away = issued_keys();
    bring_back();
    let returned = Instant::now();
    loop {
        assert!(
            returned.elapsed() < Duration::from_secs(20),
            "no recovery 20 s after the {name} returned: {}",
            serve.stderr()
        );
        if !issued_while_away.contains(&served_key(port)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let back = returned.elapsed();
    serve.check_running();
    eprintln!(
        "{name} away for {:.1} s: {failed} refreshes failed ({error_line:?}), serve answered \
         {served_last_good} times with the last good credentials; new credentials served \
         {:.2} s after the {name} returned, without a restart",
        AWAY.as_secs_f64(),
        back.as_secs_f64()
    );
    // One backoff step, the refresh itself, and the back-end's own start-up.
    assert!(
        back <= BACKOFF_STEP + Duration::from_secs(4),
        "took {back:?} to recover"
    );
    assert_eq!(serve.terminate().code(), Some(0), "{}", serve.stderr());
}

/// swtpm stops under a `serve` signing with a TPM key file (its key loaded as a transient
/// object) and starts again, losing that object: refreshes fail saying the TPM cannot be
/// reached, the last good credentials are served meanwhile, and `serve` reconnects and loads
/// the key again by itself.
#[test]
fn swtpm_restarted_under_serve_fails_refreshes_clearly_then_serve_recovers_without_a_restart() {
    swtpm_restarted_under_serve("swtpm", "ec256", None);
}

/// The same with a key made persistent (`handle:0x81000101`): it survives the restart, since
/// swtpm keeps its state directory.
#[test]
fn swtpm_restarted_under_serve_with_a_persistent_key_recovers_without_a_restart() {
    swtpm_restarted_under_serve(
        "swtpm (persistent key)",
        "persistent",
        Some("handle:0x81000101"),
    );
}

/// `serve` with the swtpm key `name` (its key file, or `handle`), swtpm stopped and started again.
fn swtpm_restarted_under_serve(what: &str, name: &str, handle: Option<&str>) {
    let mut tpm = Swtpm::start(false);
    let pki = Pki::new();
    let endpoint = endpoint_trusting(&pki, &tpm.path("pki/ca.pem"));
    let port = free_port();
    let serve = tpm
        .command("serve")
        .endpoint(&endpoint)
        .args(["--port", &port.to_string(), "--session-duration", "900"])
        .envs(&[TENTH_REFRESH]);
    let serve = match handle {
        Some(handle) => serve.key_pair(tpm.cert(name), handle).no_tpm_key_password(),
        None => serve.key_pair(tpm.cert(name), tpm.key(name)),
    };
    let mut serve = serve.spawn();
    let tpm_cell = std::cell::RefCell::new(&mut tpm);
    away_and_back(
        what,
        &mut serve,
        port,
        &endpoint,
        || tpm_cell.borrow_mut().stop(),
        || tpm_cell.borrow_mut().start_again(),
        "TPM",
    );
}

/// The SoftHSM2 token's directory is moved away under a `serve` logged in to it and signing
/// with a token key, then moved back: refreshes fail naming the token, the last good
/// credentials are served meanwhile, and `serve` opens a new session and logs in again by
/// itself.
#[test]
fn a_softhsm_token_taken_away_under_serve_fails_refreshes_clearly_then_serve_recovers() {
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = endpoint_trusting(&pki, &token.ca());
    let uri = token.uri("ec256");
    let port = free_port();
    let mut serve = token
        .command_with_module("serve")
        .endpoint(&endpoint)
        .args(["--port", &port.to_string(), "--session-duration", "900"])
        .key_pair(&uri, &uri)
        .env("PKCS11_PIN", PIN)
        .envs(&[TENTH_REFRESH])
        .spawn();
    let (here, away) = (token.path("tokens"), token.path("tokens.away"));
    away_and_back(
        "token",
        &mut serve,
        port,
        &endpoint,
        || std::fs::rename(&here, &away).unwrap(),
        || std::fs::rename(&away, &here).unwrap(),
        &token.label,
    );
}
