//! Signatures per second per key type, through the same `Signer` the commands use, over a
//! string-to-sign-sized message. Run by `bench/run.sh` next to `openssl speed` (`cargo bench --bench signing`).

use std::time::{Duration, Instant};

use rolesanywhere_helper::identity::{Digest, Signer, key_file as file};
use rolesanywhere_testbed::pki::{GeneratedKey, KeyKind};

fn main() {
    let message = vec![b'x'; 180];
    let budget = Duration::from_millis(
        std::env::var("SIGN_BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1500),
    );
    for (name, kind) in [
        ("ecdsap256", KeyKind::EcP256),
        ("ecdsap384", KeyKind::EcP384),
        ("ecdsap521", KeyKind::EcP521),
        ("rsa2048", KeyKind::Rsa(2048)),
        ("rsa3072", KeyKind::Rsa(3072)),
        ("rsa4096", KeyKind::Rsa(4096)),
    ] {
        let generated = match GeneratedKey::generate(kind) {
            Ok(key) => key,
            Err(e) => panic!("generating a {name} key: {e}"),
        };
        let signer = match file::parse(&generated.pkcs8_der, name) {
            Ok(signer) => signer,
            Err(e) => panic!("parsing the {name} key: {e}"),
        };
        let started = Instant::now();
        let mut count = 0u64;
        while started.elapsed() < budget {
            if let Err(e) = signer.sign(&message, Digest::Sha256) {
                panic!("{name}: {e}");
            }
            count += 1;
        }
        let per_second = count as f64 / started.elapsed().as_secs_f64();
        println!("{name} {per_second:.0}");
    }
}
