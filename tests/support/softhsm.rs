//! A private SoftHSM2 token made by pkcs11/make-softhsm-token.sh, and a private default module,
//! so that no PKCS#11 module of the host (a desktop's p11-kit proxy loading the system's
//! SoftHSM2, OpenSC, ...) can change what a test sees.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Endpoint, Helper, run_bounded};

/// The fixture token's user PIN.
pub const PIN: &str = "1234";

/// A private SoftHSM2 token (own SOFTHSM2_CONF and token dir) with the script's objects.
pub struct Token {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub module: String,
    pub label: String,
    /// What the helper takes for p11-kit's proxy (the default module, used when neither
    /// `--pkcs11-lib` nor the URI names one): a path in the token's dir, absent unless
    /// [`Token::install_default_module`] puts a module there. Never the host's proxy, which
    /// loads whatever modules the host has configured (as root, p11-kit reads no per-user
    /// configuration a test could make private).
    pub default_module: PathBuf,
}

impl Token {
    pub fn new() -> Token {
        let dir = tempfile::Builder::new()
            .prefix("rah-pkcs11")
            .tempdir()
            .unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkcs11/make-softhsm-token.sh");
        let label = format!("rah-{}", super::next_unique());
        let mut command = Command::new("bash");
        command
            .arg(&script)
            .arg(dir.path())
            .env("TOKEN_LABEL", &label)
            .env("USER_PIN", PIN);
        let output = run_bounded(&mut command, Duration::from_secs(120));
        assert!(
            output.status.success(),
            "making the SoftHSM2 token failed (is softhsm2 installed? ./scripts/test.sh installs it): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
        let value = |key: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("{key} missing from the token's env file"))
                .to_string()
        };
        let default_module = dir.path().join("default-module/p11-kit-proxy.so");
        Token {
            conf: PathBuf::from(value("SOFTHSM2_CONF")),
            module: value("PKCS11_MODULE"),
            label,
            default_module,
            dir,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// `pkcs11:token=<label>;object=<object>`.
    pub fn uri(&self, object: &str) -> String {
        format!("pkcs11:token={};object={object}", self.label)
    }

    /// Puts this token's SoftHSM2 module where the helper looks for p11-kit's proxy, so the
    /// default module reaches the token.
    pub fn install_default_module(&self) {
        std::fs::create_dir_all(self.default_module.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&self.module, &self.default_module).unwrap();
    }

    /// The environment every process using this token gets: its SoftHSM2 configuration and the
    /// private default module.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SOFTHSM2_CONF", self.conf.to_str().unwrap().to_string()),
            (
                "RAH_TEST_P11_KIT_PROXY",
                self.default_module.to_str().unwrap().to_string(),
            ),
        ]
    }

    /// What `pkcs11-tool --login --list-objects` shows of the token (with `filter`: `--type`,
    /// `--label`, ...), logged in with [`PIN`]: the token's own view of its objects.
    pub fn list_objects(&self, filter: &[&str]) -> String {
        let mut command = Command::new("pkcs11-tool");
        command
            .args(["--module", &self.module, "--token-label", &self.label])
            .args(["--login", "--pin", PIN, "--list-objects"])
            .args(filter);
        self.apply(&mut command);
        let output = run_bounded(&mut command, Duration::from_secs(30));
        assert!(
            output.status.success(),
            "pkcs11-tool --list-objects: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Applies [`Token::env`] to a command.
    pub fn apply(&self, command: &mut Command) {
        for (k, v) in self.env() {
            command.env(k, v);
        }
    }

    /// The helper's `command` with this token's environment and no PIN.
    pub fn command(&self, command: &str) -> Helper {
        self.env()
            .into_iter()
            .fold(Helper::command(command), |h, (k, v)| h.env(k, v))
    }

    /// `command` with `--pkcs11-lib` this token's module.
    pub fn command_with_module(&self, command: &str) -> Helper {
        self.command(command).args(["--pkcs11-lib", &self.module])
    }

    /// credential-process against `endpoint` with this token's environment, the PIN in
    /// `$PKCS11_PIN`; the identity options follow.
    pub fn credential_process_against(&self, endpoint: &impl Endpoint) -> Helper {
        self.command("credential-process")
            .endpoint(endpoint)
            .env("PKCS11_PIN", PIN)
    }
}
