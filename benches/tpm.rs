//! TPM signatures per second through swtpm: one `TpmKey` that keeps its loaded key, next to
//! re-creating the storage key and reloading the key for every signature (what AWS's helper
//! does). Starts its own swtpm with tpm/swtpm-fixture.sh (`cargo bench --bench tpm`).

use std::net::TcpListener;
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::rate;
use rolesanywhere_helper::identity::tpm::{Options, Password, TpmKey};
use rolesanywhere_helper::identity::{Digest, Signer};

/// Stops swtpm by PID when the bench ends, even on a panic.
struct SwtpmProcess(u32);

impl Drop for SwtpmProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.to_string()])
            .status();
        let started = Instant::now();
        while Path::new(&format!("/proc/{}", self.0)).exists()
            && started.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn free_port_pair() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = first.local_addr().expect("its address").port();
        if port < 65535 && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn main() {
    let budget = common::budget("TPM_BENCH_MS");
    let dir = tempfile::Builder::new()
        .prefix("rah-tpm-bench")
        .tempdir()
        .expect("temp dir");
    let port = free_port_pair();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tpm/swtpm-fixture.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(dir.path())
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run tpm/swtpm-fixture.sh");
    let pid = std::fs::read_to_string(dir.path().join("swtpm/swtpm.pid"))
        .ok()
        .and_then(|p| p.trim().parse().ok());
    let _swtpm = pid.map(SwtpmProcess);
    assert!(status.success(), "the swtpm fixture failed");
    let device = format!("tcp:127.0.0.1:{port}");
    let options = || Options {
        password: Password::Unspecified,
        device: Some(device.clone()),
    };
    let message = vec![b'x'; 180];
    println!("TPM signatures per second through swtpm (budget {budget:?} each)");
    for name in ["ec256", "ec384", "rsa2048"] {
        let path = dir.path().join(format!("tpmkeys/{name}.pem"));
        let kept = TpmKey::from_key_file(&path, &options()).expect("load the key");
        let kept_rate = rate(budget, || {
            kept.sign(&message, Digest::Sha256).expect("sign");
        });
        assert_eq!(kept.load_count(), 1, "the kept key was loaded once");
        drop(kept);
        // AWS's helper per signature: open the TPM, CreatePrimary, Load, Sign, flush, close.
        let fresh_rate = rate(budget, || {
            let key = TpmKey::from_key_file(&path, &options()).expect("load the key");
            key.sign(&message, Digest::Sha256).expect("sign");
        });
        println!(
            "tpm-{name}: kept key {kept_rate:.0} sign/s; primary + load per signature {fresh_rate:.0} sign/s; x{:.1}",
            kept_rate / fresh_rate
        );
    }
}
