//! A private swtpm with the keys made by tpm/swtpm-fixture.sh, stopped by PID when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rolesanywhere_helper::identity::tpm::{Options, Password};

use super::{Helper, run_bounded};

/// A private swtpm with the fixture's keys, stopped by PID when dropped.
pub struct Swtpm {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pid: u32,
    /// Listening on a UNIX socket (DIR/swtpm/tpm.sock) instead of TCP.
    pub unix: bool,
}

/// A loopback port P with P+1 also free (swtpm's data and control ports).
pub fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let Ok(first) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let port = first.local_addr().unwrap().port();
        if port < 65535 && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port pair");
}

impl Swtpm {
    /// Runs the fixture script; `bare` starts a fresh TPM with no keys.
    pub fn start(bare: bool) -> Swtpm {
        Self::start_with(bare, false)
    }

    /// As `start`, on a UNIX socket when `unix`.
    pub fn start_with(bare: bool, unix: bool) -> Swtpm {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tpm/swtpm-fixture.sh");
        let mut last_error = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("rah-tpm")
                .tempdir()
                .unwrap();
            let port = free_port_pair();
            let mut command = Command::new("bash");
            command.arg(&script);
            if bare {
                command.arg("--bare");
            }
            if unix {
                command.arg("--unix");
            }
            command.arg(dir.path()).arg(port.to_string());
            let output = run_bounded(&mut command, Duration::from_secs(120));
            let pid = std::fs::read_to_string(dir.path().join("swtpm/swtpm.pid"))
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok());
            if output.status.success()
                && let Some(pid) = pid
            {
                return Swtpm {
                    dir,
                    port,
                    pid,
                    unix,
                };
            }
            if let Some(pid) = pid {
                stop_process(pid);
            }
            last_error = String::from_utf8_lossy(&output.stderr).into_owned();
            // A port taken between our probe and swtpm's bind is worth another try; a missing
            // swtpm or tool is not, but trying again costs little and the failure stays loud.
        }
        panic!(
            "the swtpm fixture failed (install swtpm swtpm-tools tpm2-tools tpm2-openssl: ./scripts/test.sh does): {last_error}"
        );
    }

    /// Stops swtpm and starts it again on the same state and port, as a reboot would.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Stops swtpm (its state stays in the directory); [`Swtpm::start_again`] brings it back.
    pub fn stop(&mut self) {
        stop_process(self.pid);
    }

    /// Starts swtpm again on the state and port it had before [`Swtpm::stop`].
    pub fn start_again(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tpm/swtpm-fixture.sh");
        let mut command = Command::new("bash");
        command
            .arg(&script)
            .arg("--bare")
            .arg(self.dir.path())
            .arg(self.port.to_string());
        let output = run_bounded(&mut command, Duration::from_secs(60));
        assert!(
            output.status.success(),
            "restarting swtpm: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.pid = std::fs::read_to_string(self.path("swtpm/swtpm.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn key(&self, name: &str) -> String {
        self.path(&format!("tpmkeys/{name}.pem"))
            .to_string_lossy()
            .into_owned()
    }

    pub fn cert(&self, name: &str) -> String {
        self.path(&format!("tpmkeys/{name}.crt.pem"))
            .to_string_lossy()
            .into_owned()
    }

    /// The `TPM_DEVICE` value for this simulator.
    pub fn device(&self) -> String {
        if self.unix {
            return self.path("swtpm/tpm.sock").to_string_lossy().into_owned();
        }
        format!("tcp:127.0.0.1:{}", self.port)
    }

    /// The tpm2-tss TCTI string for this simulator.
    pub fn tcti(&self) -> String {
        if self.unix {
            return format!("swtpm:path={}", self.device());
        }
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    pub fn options(&self, password: Password) -> Options {
        Options {
            password,
            device: Some(self.device()),
        }
    }

    /// Runs a tpm2-tools command against this simulator.
    pub fn tool(&self, program: &str, args: &[&str]) -> String {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("TPM2TOOLS_TCTI", self.tcti())
            .env("TSS2_LOG", "all+none");
        let output = run_bounded(&mut command, Duration::from_secs(30));
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Transient objects left in the TPM (should be none once our signers are gone).
    pub fn transient_handles(&self) -> String {
        self.tool("tpm2_getcap", &["handles-transient"])
            .trim()
            .to_string()
    }

    /// The TPM's dictionary-attack failure counter.
    pub fn lockout_counter(&self) -> u64 {
        let properties = self.tool("tpm2_getcap", &["properties-variable"]);
        let line = properties
            .lines()
            .find(|l| l.starts_with("TPM2_PT_LOCKOUT_COUNTER:"))
            .expect("lockout counter listed");
        let value = line.rsplit(' ').next().unwrap().trim_start_matches("0x");
        u64::from_str_radix(value, 16).unwrap()
    }

    /// The helper's `command` with `TPM_DEVICE` pointing here.
    pub fn command(&self, command: &str) -> Helper {
        Helper::command(command).env("TPM_DEVICE", self.device())
    }
}

/// How a command line gives a TPM key's password (see [`Helper::password_flag`]).
#[derive(Clone, Copy, Debug)]
pub enum PasswordFlag {
    /// Neither flag: the key file's emptyAuth decides, and a password is asked for if needed.
    Unspecified,
    /// `--tpm-key-password P`.
    Given(&'static str),
    /// `--no-tpm-key-password`.
    NoPassword,
}

/// Stops a process by PID and waits (bounded) until it is gone.
pub fn stop_process(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let started = Instant::now();
    let exited = || {
        // Gone, or a zombie waiting for a reaper: either way it no longer holds the state.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                stat.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true)
    };
    while !exited() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        stop_process(self.pid);
    }
}
