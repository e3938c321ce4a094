//! What the token and TPM benchmarks share: their time budget and their signing-rate loop.

use std::time::{Duration, Instant};

/// How long to sign for: `$variable` milliseconds if set, else 2 s under `cargo bench` (which
/// passes --bench) and 100 ms when `cargo test` runs the bench as a quick smoke test.
pub fn budget(variable: &str) -> Duration {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    Duration::from_millis(
        std::env::var(variable)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if benchmarking { 2000 } else { 100 }),
    )
}

/// Signatures per second of `sign_once` over `budget`.
pub fn rate(budget: Duration, mut sign_once: impl FnMut()) -> f64 {
    sign_once(); // warm-up
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < budget {
        sign_once();
        count += 1;
    }
    count as f64 / started.elapsed().as_secs_f64()
}
