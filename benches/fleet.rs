//! A fleet of 100,000 hosts on one-hour sessions, each running the refresher's real schedule
//! (`daemon::schedule::RefreshPolicy::next_wait`, the function the daemon calls) on a simulated
//! clock: no sleeping, one event per CreateSession. Prints the CreateSession rate's peak over
//! its mean in the hour after a cold start (every host starting at the same instant) and after
//! an outage (30 minutes with every call failing, then recovery). Run by `bench/fleet.sh`
//! (`cargo bench --bench fleet`); method and results in bench/README.md.
//!
//! `FLEET_HOSTS` (100000), `FLEET_SESSION_SECONDS` (3600), `FLEET_SEED` and `FLEET_BIN_SECONDS`
//! (10: the rate is counted per second and averaged over bins this wide) change the run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rolesanywhere_helper::daemon::schedule::{Last, RefreshPolicy};
use time::OffsetDateTime;

/// A small seeded PRNG (splitmix64): the same seed, the same fleet.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In [0, 1), as `support::random::fraction` gives the daemon.
    fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One host's refresher: the credentials it holds and what its last attempt did.
#[derive(Clone, Copy)]
struct Host {
    expiry_ms: Option<u64>,
    last: Last,
    /// Whether the next success ends a run of failures or is the first one.
    unscheduled: bool,
    /// What the pending call is (`KINDS`).
    kind: usize,
}

/// What a call is, to show what makes a peak.
const KINDS: [&str; 4] = [
    "scheduled refresh",
    "retry, never had credentials",
    "retry, credentials expired",
    "retry, credentials valid",
];

/// The simulated fleet: hosts, the queue of their next CreateSession (milliseconds), and the
/// calls counted per second.
struct Fleet {
    policy: RefreshPolicy,
    session: Duration,
    hosts: Vec<Host>,
    queue: BinaryHeap<Reverse<(u64, u32)>>,
    calls_per_second: Vec<u32>,
    /// The same, by kind of call.
    kinds_per_second: Vec<[u32; 4]>,
    /// Seconds by which each scheduled refresh came before the end of its credentials.
    refresh_lead_s: (f64, u64),
    rng: SplitMix64,
}

/// The simulated clock's origin (any instant: the schedule only uses differences).
fn at(ms: u64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
        + time::Duration::milliseconds(ms as i64)
        + time::Duration::days(20000)
}

impl Fleet {
    fn new(hosts: usize, session: Duration, horizon_s: usize, seed: u64) -> Fleet {
        let mut queue = BinaryHeap::with_capacity(hosts);
        // Every host makes its first call at t = 0 (a cold start: the whole fleet at once).
        for host in 0..hosts {
            queue.push(Reverse((0, host as u32)));
        }
        Fleet {
            policy: policy(),
            session,
            hosts: vec![
                Host {
                    expiry_ms: None,
                    last: Last::Recovered,
                    unscheduled: true,
                    kind: 0,
                };
                hosts
            ],
            queue,
            calls_per_second: vec![0; horizon_s],
            kinds_per_second: vec![[0; 4]; horizon_s],
            refresh_lead_s: (0.0, 0),
            rng: SplitMix64(seed),
        }
    }

    /// Runs every CreateSession before `until_ms`; `available` says whether the endpoint
    /// answers at a given millisecond.
    fn run(&mut self, until_ms: u64, available: impl Fn(u64) -> bool) {
        while let Some(&Reverse((t, index))) = self.queue.peek() {
            if t >= until_ms {
                break;
            }
            self.queue.pop();
            let second = (t / 1000) as usize;
            if let Some(count) = self.calls_per_second.get_mut(second) {
                *count += 1;
            }
            let host = &mut self.hosts[index as usize];
            if let Some(kinds) = self.kinds_per_second.get_mut(second) {
                kinds[host.kind] += 1;
            }
            let now = at(t);
            let wait = if available(t) {
                if !host.unscheduled
                    && let Some(expiry) = host.expiry_ms
                {
                    self.refresh_lead_s.0 += expiry.saturating_sub(t) as f64 / 1000.0;
                    self.refresh_lead_s.1 += 1;
                }
                let first = host.expiry_ms.is_none();
                let expiry_ms = t + self.session.as_millis() as u64;
                host.expiry_ms = Some(expiry_ms);
                // As the refresher: only the first success of the process is unscheduled; one
                // ending a run of failures resumes the schedule.
                host.last = if first {
                    Last::Recovered
                } else {
                    Last::Refreshed
                };
                host.unscheduled = false;
                host.kind = 0;
                self.policy
                    .next_wait(now, Some(at(expiry_ms)), host.last, self.rng.fraction())
            } else {
                let failures = match host.last {
                    Last::Failed(n) => n + 1,
                    _ => 1,
                };
                host.last = Last::Failed(failures);
                host.unscheduled = true;
                let expiry = host.expiry_ms.map(at);
                host.kind = match host.expiry_ms {
                    None => 1,
                    Some(e) if e <= t => 2,
                    Some(_) => 3,
                };
                self.policy
                    .next_wait(now, expiry, host.last, self.rng.fraction())
            };
            // At least a millisecond: the daemon never calls twice at one instant.
            let next = t + (wait.as_millis() as u64).max(1);
            self.queue.push(Reverse((next, index)));
        }
    }

    /// The peak over the mean of the CreateSession rate in `[from_s, from_s + 3600)`, the rate
    /// averaged over bins of `bin_s` seconds.
    fn peak_to_average(&self, from_s: usize, bin_s: usize) -> (f64, f64, f64) {
        peak_to_average(&self.calls_per_second[from_s..from_s + 3600], bin_s)
    }
}

/// (peak, mean, peak / mean) of per-second counts, the rate averaged over bins of `bin_s`.
fn peak_to_average(counts: &[u32], bin_s: usize) -> (f64, f64, f64) {
    let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let mean = total as f64 / counts.len() as f64;
    let peak = counts
        .chunks(bin_s)
        .map(|bin| bin.iter().map(|&c| u64::from(c)).sum::<u64>() as f64 / bin.len() as f64)
        .fold(0.0, f64::max);
    (peak, mean, if mean > 0.0 { peak / mean } else { 0.0 })
}

/// The daemon's default policy; `FLEET_RETRY_MAX` and `FLEET_RETRY_MAX_WHILE_VALID` (seconds)
/// override its retry caps, to explore.
fn policy() -> RefreshPolicy {
    let default = RefreshPolicy::default();
    RefreshPolicy {
        retry_max: Duration::from_secs(env_or("FLEET_RETRY_MAX", default.retry_max.as_secs())),
        retry_max_while_valid: Duration::from_secs(env_or(
            "FLEET_RETRY_MAX_WHILE_VALID",
            default.retry_max_while_valid.as_secs(),
        )),
        retry_earliest_fraction_expired: env_or(
            "FLEET_RETRY_EXPIRED_FROM",
            default.retry_earliest_fraction_expired,
        ),
        earliest_fraction: env_or("FLEET_EARLIEST", default.earliest_fraction),
        latest_fraction: env_or("FLEET_LATEST", default.latest_fraction),
        ..default
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let hosts: usize = env_or("FLEET_HOSTS", 100_000);
    let session = Duration::from_secs(env_or("FLEET_SESSION_SECONDS", 3600));
    let seed: u64 = env_or("FLEET_SEED", 0x5eed_f1ee7);
    let bin_s: usize = env_or("FLEET_BIN_SECONDS", 10).max(1);
    let hour = 3600;
    let started = std::time::Instant::now();

    // Cold start: the whole fleet starts at t = 0. Those first calls come when the hosts start,
    // not when the schedule says; the figure is the hour of refreshes that follows them.
    let mut cold = Fleet::new(hosts, session, 2 * hour, seed);
    cold.run(2 * hour as u64 * 1000, |_| true);
    let first_second = cold.calls_per_second[0];
    cold.calls_per_second[0] = 0;
    let (peak, mean, cold_ratio) = cold.peak_to_average(1, bin_s);
    println!(
        "# cold start: {hosts} hosts, {first_second} first calls at t=0; then a peak of {peak:.1}/s over a mean of {mean:.1}/s"
    );

    // The outage: the fleet has run 6 hours; every call fails for 30 minutes, then the
    // endpoint answers again. The figure is the hour after it returns.
    let outage_start = 6 * hour as u64 * 1000;
    let outage_end = outage_start + 1800 * 1000;
    let mut fleet = Fleet::new(hosts, session, 9 * hour, seed ^ 1);
    let down = |t: u64| (outage_start..outage_end).contains(&t);
    fleet.run(outage_end, |t| !down(t));
    let expired_at_return = fleet
        .hosts
        .iter()
        .filter(|h| h.expiry_ms.is_none_or(|e| e <= outage_end))
        .count();
    fleet.run(outage_end + hour as u64 * 1000, |t| !down(t));
    let steady = fleet.peak_to_average(4 * hour, bin_s);
    let recovery_from = (outage_end / 1000) as usize;
    let (peak, mean, outage_ratio) = fleet.peak_to_average(recovery_from, bin_s);
    println!(
        "# after the outage: a peak of {peak:.1}/s over a mean of {mean:.1}/s; steady state before it: {:.1}/s mean, {:.2} peak/mean",
        steady.1, steady.2
    );
    if std::env::var_os("FLEET_PROFILE").is_some() {
        let bins: usize = env_or("FLEET_PROFILE", 60);
        for (bin, counts) in fleet.calls_per_second[recovery_from - 600..recovery_from + hour]
            .chunks(bins)
            .enumerate()
        {
            let calls: u32 = counts.iter().sum();
            let from = (bin * bins) as i64 - 600;
            println!("# {from:+} s: {:.1}/s", f64::from(calls) / bins as f64);
        }
    }
    // What makes the peak: the busiest bins after the return, by kind of call.
    let bins: Vec<(usize, u32)> = fleet.calls_per_second[recovery_from..recovery_from + hour]
        .chunks(bin_s)
        .enumerate()
        .map(|(i, c)| (i, c.iter().sum()))
        .collect();
    let mut busiest = bins.clone();
    busiest.sort_by_key(|&(_, calls)| Reverse(calls));
    for &(bin, calls) in busiest.iter().take(3) {
        let from = recovery_from + bin * bin_s;
        let mut kinds = [0u32; 4];
        for second in &fleet.kinds_per_second[from..from + bin_s] {
            for (k, n) in second.iter().enumerate() {
                kinds[k] += n;
            }
        }
        let parts: Vec<String> = KINDS
            .iter()
            .zip(kinds)
            .map(|(name, n)| format!("{name} {:.1}/s", f64::from(n) / bin_s as f64))
            .collect();
        println!(
            "# busy bin +{} s: {:.1}/s = {}",
            bin * bin_s,
            f64::from(calls) / bin_s as f64,
            parts.join(", ")
        );
    }
    println!("# hosts holding no valid credentials at the end of the outage: {expired_at_return}");

    // What no schedule can beat without coordination: as many calls at independent uniform
    // instants over the same hour.
    let calls: u64 = fleet.calls_per_second[recovery_from..recovery_from + hour]
        .iter()
        .map(|&c| u64::from(c))
        .sum();
    let mut rng = SplitMix64(seed ^ 2);
    let mut uniform = vec![0u32; hour];
    for _ in 0..calls {
        uniform[((rng.fraction() * hour as f64) as usize).min(hour - 1)] += 1;
    }
    let (_, _, floor) = peak_to_average(&uniform, bin_s);

    let (lead_sum, leads) = fleet.refresh_lead_s;
    println!(
        "# scheduled refreshes came {:.0} s before expiry on average; {:.2} CreateSession per host and hour in the steady state",
        lead_sum / leads.max(1) as f64,
        steady.1 * hour as f64 / hosts as f64
    );
    println!("metric fleet.peak_to_average.cold_start {cold_ratio:.3}");
    println!("metric fleet.peak_to_average.after_outage {outage_ratio:.3}");
    println!("metric fleet.peak_to_average.uncoordinated_floor {floor:.3}");
    println!("metric fleet.bin_seconds {bin_s}");
    println!(
        "metric fleet.simulation_seconds {:.2}",
        started.elapsed().as_secs_f64()
    );
}
