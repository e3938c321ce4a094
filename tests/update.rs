//! `update` end to end: the real binary writes the shared credentials file the local endpoint's
//! credentials, botocore reads exactly those, every other byte of the file stays as it was, the
//! file is private, concurrent updaters never lose each other's writes, the long-running
//! mode keeps refreshing through endpoint failures, and an updater killed at any moment never
//! leaves a truncated or mixed file.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use crate::support::testbed::KeyKind;
use crate::support::verifier::AnswerFault;
use crate::support::*;

/// A credentials file with what other tools leave there: comments, blank lines, CRLF-free
/// sections before and after ours, and our section with a key of its own.
const BEFORE: &str = "# managed by hand; keep this comment\n\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n; a note before ours\n[edge]\nregion = eu-west-1\naws_access_key_id = OLDKEY\n# a comment inside our section\naws_secret_access_key = old-secret\naws_session_token = old-token\n\n[after]\naws_access_key_id = AKIAAFTER\naws_secret_access_key = after-secret\n";

/// `BEFORE` with our section's three values replaced.
fn expected(access_key: &str, secret: &str, token: &str) -> String {
    BEFORE
        .replace(
            "aws_access_key_id = OLDKEY",
            &format!("aws_access_key_id = {access_key}"),
        )
        .replace(
            "aws_secret_access_key = old-secret",
            &format!("aws_secret_access_key = {secret}"),
        )
        .replace(
            "aws_session_token = old-token",
            &format!("aws_session_token = {token}"),
        )
}

/// The value of `key` in `[section]` of an INI text.
fn value_in(text: &str, section: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            inside = trimmed == format!("[{section}]");
        } else if inside
            && let Some((k, v)) = trimmed.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().to_string());
        }
    }
    None
}

fn update_args(leaf: &Leaf, url: &str, profile: &str) -> Vec<String> {
    let mut args = credential_process_args(Some(url), &["--profile", profile, "--once"]);
    args[0] = "update".into();
    args.extend(leaf_args(leaf));
    args
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn update_once_keeps_other_sections_byte_for_byte_and_botocore_reads_what_it_wrote() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("update", KeyKind::EcP256);
    let file = pki.path("credentials");
    std::fs::write(&file, BEFORE).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let args = update_args(&leaf, &endpoint.url, "edge");
    let output = helper(
        &strs(&args),
        &[
            ("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let after = std::fs::read_to_string(&file).unwrap();
    let issued = endpoint.records()[0]["access_key_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = value_in(&after, "edge", "aws_secret_access_key").unwrap();
    let token = value_in(&after, "edge", "aws_session_token").unwrap();
    assert_eq!(
        after,
        expected(&issued, &secret, &token),
        "every other byte kept"
    );
    assert!(secret.len() >= 40 && !token.is_empty());
    assert_eq!(mode_of(&file), 0o600, "the credentials file is private");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains(&secret),
        "no secret in the log"
    );

    let resolved = botocore(
        &pki,
        BOTOCORE_RESOLVE,
        &[
            ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
            ("AWS_PROFILE", "edge"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_eq!(resolved["method"], "shared-credentials-file");
    assert_eq!(resolved["access_key"], issued.as_str());
    assert_eq!(resolved["secret_key"], secret.as_str());
    assert_eq!(resolved["token"], token.as_str());
}

#[test]
fn a_created_aws_directory_and_file_are_private() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("home", KeyKind::EcP256);
    let home = pki.path("home");
    std::fs::create_dir(&home).unwrap();
    let args = update_args(&leaf, &endpoint.url, "default");
    let mut command = std::process::Command::new(BIN);
    command
        .args(strs(&args))
        .env("HOME", &home)
        .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_ENDPOINT_URL_ROLESANYWHERE")
        .env_remove("HTTPS_PROXY");
    let output = run_bounded(&mut command, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = home.join(".aws");
    let file = dir.join("credentials");
    assert_eq!(mode_of(&dir), 0o700);
    assert_eq!(mode_of(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("[default]\naws_access_key_id = "),
        "{text}"
    );
    assert_eq!(
        value_in(&text, "default", "aws_access_key_id").as_deref(),
        endpoint.records()[0]["access_key_id"].as_str()
    );
}

#[test]
fn concurrent_updaters_never_lose_each_others_sections() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("concurrent", KeyKind::EcP256);
    let file = pki.path("credentials");
    std::fs::write(&file, BEFORE).unwrap();
    let profiles: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
    let children: Vec<_> = profiles
        .iter()
        .map(|profile| {
            let args = update_args(&leaf, &endpoint.url, profile);
            let mut command = std::process::Command::new(BIN);
            command
                .args(strs(&args))
                .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
                .env("AWS_SHARED_CREDENTIALS_FILE", &file)
                .env_remove("AWS_ENDPOINT_URL_ROLESANYWHERE")
                .env_remove("HTTPS_PROXY");
            std::thread::spawn(move || run_bounded(&mut command, Duration::from_secs(60)))
        })
        .collect();
    for child in children {
        let output = child.join().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.starts_with(BEFORE), "the old contents kept: {after}");
    let issued: Vec<String> = endpoint
        .records()
        .iter()
        .map(|r| r["access_key_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(issued.len(), profiles.len());
    for profile in &profiles {
        let key = value_in(&after, profile, "aws_access_key_id")
            .unwrap_or_else(|| panic!("[{profile}] lost: {after}"));
        assert!(issued.contains(&key));
    }
    assert_eq!(mode_of(&file), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(pki.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );
}

#[test]
fn update_once_fails_cleanly_and_leaves_the_file_alone() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &["--fail-next", "1000"]);
    let leaf = pki.leaf("fail", KeyKind::EcP256);
    let file = pki.path("credentials");
    std::fs::write(&file, BEFORE).unwrap();
    let args = update_args(&leaf, &endpoint.url, "edge");
    let output = helper(
        &strs(&args),
        &[
            ("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
        ],
    );
    // Exit 5, nothing on stdout, the error as the last line (warnings, e.g. about the test
    // certificate's short validity, may come before it).
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(output.stdout.is_empty());
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.contains("CreateSession failed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), BEFORE);

    let mut args = update_args(&leaf, &endpoint.url, "bad]name");
    args.retain(|a| a != "--once");
    let output = helper(
        &strs(&args),
        &[("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap())],
    );
    assert_clean_failure(&output, 2, "--profile");
}

#[test]
fn long_running_update_refreshes_and_keeps_the_file_through_failures() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("long", KeyKind::EcP256);
    let file = pki.path("credentials");
    std::fs::write(&file, BEFORE).unwrap();
    let mut update = Helper::command("update")
        .endpoint(&endpoint)
        .args(["--profile", "edge"])
        .leaf(&leaf)
        .args(["--session-duration", "900"])
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .envs(&[FAST_REFRESH])
        .spawn();
    update.wait_ready();
    let written = || {
        let text = std::fs::read_to_string(&file).unwrap();
        value_in(&text, "edge", "aws_access_key_id").unwrap()
    };
    let first = endpoint.issued()[0].access_key_id.clone().unwrap();
    assert_eq!(written(), first);

    endpoint.set_failing(true);
    wait_for("failed refreshes", Duration::from_secs(30), || {
        endpoint.failed() >= 4
    });
    assert_eq!(
        written(),
        first,
        "the last good credentials stay in the file"
    );

    endpoint.set_failing(false);
    wait_for("a refresh after recovery", Duration::from_secs(30), || {
        written() != first
    });
    let latest = endpoint
        .issued()
        .last()
        .unwrap()
        .access_key_id
        .clone()
        .unwrap();
    wait_for(
        "the latest credentials written",
        Duration::from_secs(10),
        || written() == latest,
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let secret = value_in(&text, "edge", "aws_secret_access_key").unwrap();
    let token = value_in(&text, "edge", "aws_session_token").unwrap();
    assert_eq!(text, expected(&latest, &secret, &token));
    assert_eq!(update.terminate().code(), Some(0), "{}", update.stderr());
}

/// A small seeded PRNG (splitmix64), so a failing fault schedule can be replayed exactly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max` (the modulo bias is irrelevant here).
    fn up_to(&mut self, max: u64) -> u64 {
        self.next() % (max + 1)
    }
}

/// The temporary files `update` writes next to the credentials file (`.credentials.tmp-…`).
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".credentials.tmp-"))
        .collect()
}

/// The access key ids in the endpoint's request log. A request whose client was just killed may
/// still be being logged: only whole lines count.
fn issued_keys(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    whole
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|r| r["access_key_id"].as_str().map(String::from))
        .collect()
}

#[test]
fn update_killed_at_random_moments_never_leaves_a_truncated_or_mixed_file() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("faults", KeyKind::EcP256);
    let dir = pki.path("aws");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("credentials");
    std::fs::write(&file, BEFORE).unwrap();
    let seed = std::env::var("RAH_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_1126_u64);
    eprintln!("fault schedule seed {seed} (replay with RAH_FAULT_SEED={seed})");
    let mut rng = SplitMix64(seed);
    let once = update_args(&leaf, &endpoint.url, "edge");
    let mut long_running = once.clone();
    long_running.retain(|a| a != "--once");
    long_running.extend(["--session-duration".into(), "900".into()]);

    // Each access key id, secret and token belongs to one set: a mix of two sets shows as a
    // value seen with a partner it was not issued with.
    let mut set_of_key: std::collections::HashMap<String, (String, String)> = Default::default();
    let mut key_of_secret: std::collections::HashMap<String, String> = Default::default();
    let mut key_of_token: std::collections::HashMap<String, String> = Default::default();
    let (mut killed_running, mut changes, mut most_temp) = (0, 0, 0);
    let mut last_key = "OLDKEY".to_string();
    let started = std::time::Instant::now();
    const CYCLES: usize = 200;
    for cycle in 0..CYCLES {
        // Three in four `update --once`; every fourth the long-running mode rewriting the file
        // every 9 ms (0.001% of 900 s), so kills also land between and inside later writes.
        let (args, fraction) = if cycle % 4 == 3 {
            (&long_running, "0.00001")
        } else {
            (&once, "0.5")
        };
        let delay = Duration::from_millis(rng.up_to(40));
        let mut child = std::process::Command::new(BIN)
            .args(strs(args))
            .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
            .env("AWS_SHARED_CREDENTIALS_FILE", &file)
            .env("RAH_TEST_REFRESH_FRACTION", fraction)
            .env_remove("AWS_ENDPOINT_URL_ROLESANYWHERE")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        // SIGKILL: no handler, no cleanup, wherever it is.
        child.kill().unwrap();
        child.wait().unwrap();

        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cycle {cycle}: the credentials file is gone: {e}"));
        let field = |key: &str| {
            value_in(&text, "edge", key)
                .unwrap_or_else(|| panic!("cycle {cycle}: no {key} in [edge]: {text:?}"))
        };
        let (key, secret, token) = (
            field("aws_access_key_id"),
            field("aws_secret_access_key"),
            field("aws_session_token"),
        );
        assert_eq!(
            text,
            expected(&key, &secret, &token),
            "cycle {cycle} (killed after {delay:?}): every other byte kept, nothing truncated"
        );
        if key == "OLDKEY" {
            assert_eq!(
                (secret.as_str(), token.as_str()),
                ("old-secret", "old-token")
            );
        } else {
            let issued = issued_keys(&endpoint.log).contains(&key);
            assert!(issued, "cycle {cycle}: {key} was never issued");
            assert_eq!(secret.len(), 40, "cycle {cycle}: a whole secret key");
            assert_eq!(token.len(), 400, "cycle {cycle}: a whole session token");
            let set = set_of_key
                .entry(key.clone())
                .or_insert_with(|| (secret.clone(), token.clone()));
            assert_eq!(
                *set,
                (secret.clone(), token.clone()),
                "cycle {cycle}: mixed"
            );
            assert_eq!(
                key_of_secret.entry(secret).or_insert_with(|| key.clone()),
                &key
            );
            assert_eq!(
                key_of_token.entry(token).or_insert_with(|| key.clone()),
                &key
            );
        }
        if key != last_key {
            changes += 1;
            last_key = key;
        }
        if changes > 0 {
            let mode = mode_of(&file);
            assert_eq!(mode, 0o600, "cycle {cycle}: a written file is private");
        }
        most_temp = most_temp.max(temp_files(&dir).len());
    }
    let elapsed = started.elapsed();
    let issued = issued_keys(&endpoint.log).len();
    eprintln!(
        "{CYCLES} cycles in {elapsed:?}: {killed_running} killed while running, {changes} file \
         changes, {issued} CreateSessions, at most {most_temp} stray temporary files at once"
    );
    assert!(elapsed < Duration::from_secs(60), "bounded: {elapsed:?}");
    // The schedule must have hit both sides: runs killed before and after they wrote.
    assert!(
        killed_running >= CYCLES / 4,
        "{killed_running} kills landed mid-run"
    );
    assert!(changes >= 10, "only {changes} cycles wrote the file");

    // A temporary file left by a killed writer is removed by the next write.
    let output = helper(
        &strs(&once),
        &[
            ("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        temp_files(&dir),
        Vec::<String>::new(),
        "no stray temporary files"
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "credentials" || n == "credentials.lock"),
        "{names:?}"
    );
}

fn run_update(leaf: &Leaf, endpoint: &impl Endpoint, file: &Path) -> std::process::Output {
    Helper::command("update")
        .endpoint(endpoint)
        .leaf(leaf)
        .args(["--profile", "edge", "--once"])
        .env("AWS_SHARED_CREDENTIALS_FILE", file)
        .limit(Duration::from_secs(30))
        .output()
}

/// A hostile endpoint's values never reach the credentials file: update fails with one line
/// and the file stays byte for byte as it was.
#[test]
fn hostile_credential_values_leave_the_credentials_file_byte_for_byte() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("hostile-update", KeyKind::EcP256);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, BEFORE).unwrap();
    let mut table = Table::new("update against a hostile endpoint");
    for (what, access_key_id, secret_access_key, session_token) in
        crate::credential_process::hostile_answers()
    {
        endpoint.set_answer_fault(AnswerFault::IssueCredentials {
            access_key_id,
            secret_access_key,
            session_token,
        });
        let output = run_update(&leaf, &endpoint, &file);
        table.row(what, || {
            assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
            assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
            assert_eq!(std::fs::read_to_string(&file).unwrap(), BEFORE);
        });
    }
    table.assert_all_passed();
}

/// What must not be written through fails at once with one line and writes nothing: a FIFO as
/// the credentials file (it used to hang with the lock held), a symlink planted at the lock path
/// (its target is not created), a directory other users can write.
#[test]
fn update_refuses_a_fifo_a_planted_lock_symlink_and_a_shared_directory() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("refusals", KeyKind::EcP256);
    let mut table = Table::new("update refuses unsafe places");

    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("credentials");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let output = run_update(&leaf, &endpoint, &fifo);
    table.row("a FIFO as AWS_SHARED_CREDENTIALS_FILE", || {
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("not a regular file"),
            "{}",
            stderr(&output)
        );
        assert_eq!(stderr(&output).lines().count(), 1);
        assert!(started.elapsed() < Duration::from_secs(10));
    });

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, BEFORE).unwrap();
    let target = dir.path().join("planted-target");
    std::os::unix::fs::symlink(&target, dir.path().join("credentials.lock")).unwrap();
    let output = run_update(&leaf, &endpoint, &file);
    table.row("a symlink planted at the lock path", || {
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("symbolic link"),
            "{}",
            stderr(&output)
        );
        assert_eq!(stderr(&output).lines().count(), 1);
        assert!(
            std::fs::symlink_metadata(&target).is_err(),
            "the target was created"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), BEFORE);
    });

    let dir = tempfile::tempdir().unwrap();
    let aws = dir.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = aws.join("credentials");
    let output = run_update(&leaf, &endpoint, &file);
    table.row("a world-writable ~/.aws", || {
        let said = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{said}");
        assert_eq!(said.lines().count(), 1, "{said}");
        assert!(
            said.contains(aws.to_str().unwrap()),
            "names the directory: {said}"
        );
        assert!(
            said.contains("writable by other users") && said.contains("chmod go-w"),
            "{said}"
        );
        assert!(!file.exists());
    });
    table.assert_all_passed();
}

/// A file whose last line ends in a bare CR keeps its own line ending through two runs.
#[test]
fn a_file_ending_in_a_bare_cr_keeps_its_own_line_ending() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("bare-cr", KeyKind::EcP256);
    let mut table = Table::new("line endings");
    for (what, before, ending) in [
        ("CRLF cut after its CR", "[other]\r\nregion = x\r", "\r\n"),
        ("CR only", "[other]\rregion = x\r", "\r"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(&file, before).unwrap();
        let first = run_update(&leaf, &endpoint, &file);
        let second = run_update(&leaf, &endpoint, &file);
        let text = std::fs::read_to_string(&file).unwrap();
        table.row(what, || {
            assert!(
                first.status.success() && second.status.success(),
                "{}",
                stderr(&second)
            );
            assert!(text.starts_with(before), "{text:?}");
            let other_endings = text.replace(ending, "");
            assert!(
                !other_endings.contains('\r') && !other_endings.contains('\n'),
                "mixed line endings: {text:?}"
            );
            assert_eq!(text.matches("aws_access_key_id").count(), 1, "{text:?}");
        });
    }
    table.assert_all_passed();
}
