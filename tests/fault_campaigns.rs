//! Fault campaigns, each bounded in time and printing its figures (run with `--nocapture` to see
//! them): an endpoint outage longer than the credentials' life under `serve` and `update` at
//! once, `serve` and `update` killed with SIGKILL at random moments and started again, and the
//! credentials file's filesystem full under `update`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::testbed::KeyKind;
use crate::support::*;

const ROLE_NAME: &str = "test-role";

/// Credentials the endpoint issues in the outage campaign live this long.
const LIFE: Duration = Duration::from_secs(40);

/// Refresh after a quarter of the 40 s (10 s); retry waits of at most 2 s (the test mode's
/// backoff step).
const QUARTER_REFRESH: (&str, &str) = ("RAH_TEST_REFRESH_FRACTION", "0.25");
const BACKOFF_STEP: Duration = Duration::from_secs(2);

/// What IMDS answers now: the status and, on success, the access key id and expiry.
fn imds(port: u16) -> (u16, Option<(String, time::OffsetDateTime)>) {
    let (status, _, credentials) = imds_role_credentials(port, ROLE_NAME);
    (status, credentials)
}

/// The access key id of `[edge]`, after checking the file is whole: every line of the section
/// there, the secret and token of full length.
fn whole_file_key(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("the credentials file is there");
    let value = |key: &str| {
        let mut inside = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                inside = trimmed == "[edge]";
            } else if inside
                && let Some((k, v)) = trimmed.split_once('=')
                && k.trim() == key
            {
                return v.trim().to_string();
            }
        }
        panic!("no {key} in [edge]: {text:?}");
    };
    assert_eq!(value("aws_secret_access_key").len(), 40, "{text:?}");
    assert_eq!(value("aws_session_token").len(), 400, "{text:?}");
    assert!(text.ends_with('\n'), "{text:?}");
    value("aws_access_key_id")
}

/// The endpoint fails every call for longer than the credentials live, under `serve` and
/// `update` at once: the last good credentials are served and kept in the file while valid,
/// then `serve` answers 503 (never an expired "Success"), the file stays whole, and both have
/// new credentials within one backoff step after the endpoint returns.
#[test]
fn an_outage_longer_than_the_credentials_life_serves_the_last_good_ones_then_503_then_recovers() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start_issuing_for(&pki, LIFE);
    let leaf = pki.leaf("outage", KeyKind::EcP256);
    let port = free_port();
    let file = pki.path("credentials");
    let mut serve = Helper::command("serve")
        .endpoint(&endpoint)
        .leaf(&leaf)
        .args(["--session-duration", "900", "--port", &port.to_string()])
        .envs(&[QUARTER_REFRESH])
        .spawn();
    let mut update = Helper::command("update")
        .endpoint(&endpoint)
        .leaf(&leaf)
        .args(["--session-duration", "900", "--profile", "edge"])
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .envs(&[QUARTER_REFRESH])
        .spawn();
    serve.wait_ready();
    update.wait_ready();
    let (status, held) = imds(port);
    assert_eq!(status, 200);
    let (_, first_expiry) = held.unwrap();
    let life = first_expiry - time::OffsetDateTime::now_utc();
    assert!(
        life <= time::Duration::seconds(41) && life >= time::Duration::seconds(30),
        "the endpoint issues {LIFE:?} credentials: {life}"
    );

    let issued = || -> Vec<String> {
        endpoint
            .issued()
            .iter()
            .filter_map(|r| r.access_key_id.clone())
            .collect()
    };
    endpoint.set_failing(true);
    let outage_started = Instant::now();
    let outage_began = time::OffsetDateTime::now_utc();
    let (mut served_good, mut served_503, mut file_reads) = (0u32, 0u32, 0u32);
    let mut last_good_until = None;
    let mut first_503_after_expiry = None;
    // The outage lasts longer than the credentials live, and 8 s past the last good ones.
    loop {
        let now = time::OffsetDateTime::now_utc();
        let past_expiry = last_good_until.is_some_and(|e| now > e + time::Duration::seconds(8));
        if outage_started.elapsed() > LIFE + Duration::from_secs(5) && past_expiry {
            break;
        }
        assert!(
            outage_started.elapsed() < Duration::from_secs(90),
            "bounded"
        );
        match imds(port) {
            (200, Some((key, expiry))) => {
                assert!(issued().contains(&key), "{key} issued before");
                assert!(expiry > now, "never expired credentials as Success");
                served_good += 1;
                last_good_until = Some(expiry);
            }
            (503, None) => {
                let expired = last_good_until.is_none_or(|e| e <= now + time::Duration::SECOND);
                assert!(expired, "a 503 while the last good credentials were valid");
                served_503 += 1;
                first_503_after_expiry.get_or_insert(now);
            }
            (status, _) => panic!("IMDS answered {status} during the outage"),
        }
        let key = whole_file_key(&file);
        assert!(issued().contains(&key), "the file keeps the last good");
        file_reads += 1;
        serve.check_running();
        update.check_running();
        std::thread::sleep(Duration::from_millis(250));
    }
    let last_good_until = last_good_until.expect("the last good credentials were served");
    let first_503 = first_503_after_expiry.expect("an honest 503 once they expired");
    assert!(
        served_503 >= 2,
        "{served_503} answers of 503: {}",
        serve.stderr()
    );

    let issued_before = issued();
    endpoint.set_failing(false);
    let returned = Instant::now();
    let before_return = endpoint.issued().len();
    let mut serve_back = None;
    let mut update_back = None;
    while serve_back.is_none() || update_back.is_none() {
        assert!(
            returned.elapsed() < Duration::from_secs(20),
            "no recovery 20 s after the endpoint returned: {}{}",
            serve.stderr(),
            update.stderr()
        );
        if serve_back.is_none()
            && let (200, Some((key, _))) = imds(port)
            && !issued_before.contains(&key)
        {
            serve_back = Some(returned.elapsed());
        }
        if update_back.is_none() && !issued_before.contains(&whole_file_key(&file)) {
            update_back = Some(returned.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (serve_back, update_back) = (serve_back.unwrap(), update_back.unwrap());
    let failed_calls = endpoint.failed();
    eprintln!(
        "outage of {:.1} s over credentials living {LIFE:?}: serve answered {served_good} times \
         with the last good credentials (valid until {:.1} s into the outage), then \
         {served_503} times 503 (the first {:.1} s after they expired); the file read whole \
         {file_reads} times; {failed_calls} CreateSession calls failed; back with new \
         credentials {:.2} s (serve) and {:.2} s (update) after the endpoint returned, \
         {} CreateSession since",
        (returned - outage_started).as_secs_f64(),
        (last_good_until - outage_began).as_seconds_f64(),
        (first_503 - last_good_until).as_seconds_f64(),
        serve_back.as_secs_f64(),
        update_back.as_secs_f64(),
        endpoint.issued().len() - before_return,
    );
    // One backoff step (at most 2 s in the test mode) and the fetch itself.
    for (who, back) in [("serve", serve_back), ("update", update_back)] {
        assert!(
            back <= BACKOFF_STEP + Duration::from_secs(3),
            "{who} took {back:?} to recover"
        );
    }
    assert_eq!(serve.terminate().code(), Some(0), "{}", serve.stderr());
    assert_eq!(update.terminate().code(), Some(0), "{}", update.stderr());
}

/// A small seeded PRNG (splitmix64), so a failing kill schedule can be replayed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn up_to(&mut self, max: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % (max + 1)
    }
}

/// `serve` and a long-running `update`, both refreshing every few milliseconds, are killed with
/// SIGKILL at random moments and started again, over and over: the credentials file always
/// parses whole, and afterwards nothing is stale: `serve` binds the same port and serves at
/// once, `update --once` takes the lock and writes at once, no temporary file is left.
#[test]
fn serve_and_update_killed_at_random_moments_restart_with_no_stale_lock_and_a_whole_file() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("kills", KeyKind::EcP256);
    let dir = pki.path("aws");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("credentials");
    let port = free_port();
    let token_file = pki.path("container-token");
    let seed = std::env::var("RAH_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6b11_2026_1204_u64);
    eprintln!("kill schedule seed {seed} (replay with RAH_FAULT_SEED={seed})");
    let mut rng = SplitMix64(seed);
    // Refresh every 9 ms (0.001% of 900 s): kills land before, between and inside writes.
    let fast = ("RAH_TEST_REFRESH_FRACTION", "0.00001");
    let serve_command = || {
        Helper::command("serve")
            .endpoint(&endpoint)
            .leaf(&leaf)
            .args(["--session-duration", "900", "--port", &port.to_string()])
            .arg("--container-token-file")
            .arg(&token_file)
            .envs(&[fast])
    };
    let update_command = || {
        Helper::command("update")
            .endpoint(&endpoint)
            .leaf(&leaf)
            .args(["--session-duration", "900", "--profile", "edge"])
            .env("AWS_SHARED_CREDENTIALS_FILE", &file)
            .envs(&[fast])
    };
    const CYCLES: u32 = 40;
    let (mut kills, mut killed_running, mut file_checks) = (0u32, 0u32, 0u32);
    let started = Instant::now();
    for cycle in 0..CYCLES {
        let mut serve = serve_command().spawn();
        let mut update = update_command().spawn();
        std::thread::sleep(Duration::from_millis(rng.up_to(300)));
        for running in [&mut serve, &mut update] {
            if running.child.try_wait().unwrap().is_none() {
                killed_running += 1;
            }
            // SIGKILL: no handler, no cleanup, wherever it is.
            running.child.kill().unwrap();
            running.child.wait().unwrap();
            kills += 1;
        }
        if file.exists() {
            let key = whole_file_key(&file);
            assert!(key.starts_with("ASIA"), "cycle {cycle}: {key}");
            file_checks += 1;
        }
    }
    assert!(
        killed_running >= kills * 3 / 4,
        "{killed_running} of {kills}"
    );
    assert!(
        file_checks >= CYCLES / 2,
        "the file was written in {file_checks} cycles"
    );

    // Nothing stale: a new serve binds the same port and serves, update --once takes the lock.
    let restarted = Instant::now();
    let mut serve = serve_command().spawn();
    serve.wait_ready();
    let (status, _) = imds(port);
    assert_eq!(status, 200);
    let serve_back = restarted.elapsed();
    let restarted = Instant::now();
    let output = update_command()
        .arg("--once")
        .limit(Duration::from_secs(20))
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    let update_back = restarted.elapsed();
    whole_file_key(&file);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "credentials" || n == "credentials.lock"),
        "no temporary file left: {names:?}"
    );
    eprintln!(
        "kills tried {kills} ({killed_running} while running) in {:.1} s; the file parsed whole \
         after {file_checks} cycles; after the last kill serve served again in {:.2} s and \
         update --once wrote in {:.2} s",
        started.elapsed().as_secs_f64(),
        serve_back.as_secs_f64(),
        update_back.as_secs_f64()
    );
    assert_eq!(serve.terminate().code(), Some(0), "{}", serve.stderr());
}

/// The credentials file's filesystem fills up under a long-running `update` (a 256 KiB tmpfs
/// in a mount namespace of its own, `unshare -m`, reached from here through
/// `/proc/PID/root`): each refresh fails with a clear error naming the file, the old file stays
/// whole, no temporary file is left, and the next refresh once space is back writes new
/// credentials, without a restart.
#[test]
fn a_full_filesystem_keeps_the_old_file_whole_then_update_writes_once_space_is_back() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("disk-full", KeyKind::EcP256);
    let dir = pki.path("small-fs");
    std::fs::create_dir(&dir).unwrap();
    let mount = format!(
        "mount -t tmpfs -o size=256k,mode=0700 rah-test {0} && exec \"$@\"",
        dir.display()
    );
    let mut update = Helper::command("update")
        .endpoint(&endpoint)
        .leaf(&leaf)
        .args(["--session-duration", "900", "--profile", "edge"])
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .envs(&[FAST_REFRESH])
        .wrapped_in(
            "unshare",
            &["-m", "--propagation", "private", "sh", "-c", &mount, "sh"],
        )
        .spawn();
    update.wait_ready();
    // The tmpfs as the updater sees it.
    let inside = Path::new("/proc")
        .join(update.child.id().to_string())
        .join("root")
        .join(dir.strip_prefix("/").unwrap());
    let file = inside.join("credentials");
    let before = whole_file_key(&file);

    // Fill it: 4 KiB at a time until the filesystem says no.
    let filler = inside.join("filler");
    {
        use std::io::Write as _;
        let mut out = std::fs::File::create(&filler).unwrap();
        let block = [0u8; 4096];
        let full = loop {
            if let Err(e) = out.write_all(&block).and_then(|()| out.sync_all()) {
                break e;
            }
        };
        assert_eq!(full.raw_os_error(), Some(libc::ENOSPC), "{full}");
    }
    let filled = Instant::now();
    let text_before = std::fs::read_to_string(&file).unwrap();
    wait_for(
        "refreshes failing on the full disk",
        Duration::from_secs(30),
        || update.stderr().matches("No space left on device").count() >= 3,
    );
    let failures = update.stderr().matches("No space left on device").count();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text_before,
        "old file intact"
    );
    assert_eq!(whole_file_key(&file), before);
    let error_line = update
        .stderr()
        .lines()
        .find(|l| l.contains("No space left on device"))
        .unwrap()
        .to_string();
    assert!(
        error_line.contains("credentials"),
        "names the file: {error_line}"
    );
    let stray = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".credentials.tmp-"))
            .collect()
    };
    assert_eq!(
        stray(&inside),
        Vec::<String>::new(),
        "no temporary file left"
    );
    let full_for = filled.elapsed();

    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    wait_for(
        "new credentials once space is back",
        Duration::from_secs(30),
        || whole_file_key(&file) != before,
    );
    let back = freed.elapsed();
    eprintln!(
        "disk full for {:.1} s: {failures} refreshes failed ({error_line:?}), the old file \
         intact; new credentials written {:.2} s after space was back",
        full_for.as_secs_f64(),
        back.as_secs_f64()
    );
    update.check_running();
    assert_eq!(update.terminate().code(), Some(0), "{}", update.stderr());
}
