//! The opt-in credential cache: many parallel credential-process runs make one CreateSession,
//! and a corrupt, foreign, shared or symlinked cache file is never trusted.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::testbed::KeyKind;
use crate::support::*;
use time::OffsetDateTime;

fn cached_run(
    endpoint: &LocalEndpoint,
    leaf: &Leaf,
    cache_dir: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["--cache", "--cache-dir", cache_dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    endpoint.credential_process(&strs(&leaf_args(leaf)), &args)
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn fifty_parallel_runs_make_one_create_session() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &["--delay-ms", "200"]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let cache_dir = pki.path("cache");
    let outputs: Vec<std::process::Output> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| cached_run(&endpoint, &leaf, &cache_dir, &[])))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let keys: std::collections::HashSet<String> = outputs
        .iter()
        .map(|o| {
            parse_credential_process(o)["AccessKeyId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(keys.len(), 1, "every run got the same credentials");
    assert_eq!(endpoint.records().len(), 1, "one CreateSession for 50 runs");
    let files = cache_files(&cache_dir);
    assert_eq!(files.len(), 1);
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&cache_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // Without --cache nothing is reused; with the environment variable it is.
    parse_credential_process(&endpoint.credential_process(&strs(&leaf_args(&leaf)), &[]));
    assert_eq!(endpoint.records().len(), 2);
    let args = credential_process_args(
        Some(&endpoint.url),
        &[
            strs(&leaf_args(&leaf)),
            vec!["--cache-dir", cache_dir.to_str().unwrap()],
        ]
        .concat(),
    );
    let output = helper(
        &strs(&args),
        &[
            ("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap()),
            ("ROLESANYWHERE_HELPER_CACHE", "1"),
        ],
    );
    assert_eq!(
        parse_credential_process(&output)["AccessKeyId"],
        *keys.iter().next().unwrap()
    );
    assert_eq!(endpoint.records().len(), 2);
}

#[test]
fn untrustworthy_cache_files_are_ignored_and_replaced() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let cache_dir = pki.path("cache");
    parse_credential_process(&cached_run(&endpoint, &leaf, &cache_dir, &[]));
    let file = cache_files(&cache_dir).remove(0);
    let mut expected_records = 1;
    let mut check = |what: &str, spoil: &dyn Fn(&Path), warning: &str| {
        spoil(&file);
        let output = cached_run(&endpoint, &leaf, &cache_dir, &[]);
        parse_credential_process(&output);
        expected_records += 1;
        assert_eq!(
            endpoint.records().len(),
            expected_records,
            "{what}: a fresh CreateSession"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(warning), "{what}: {stderr}");
        let metadata = std::fs::symlink_metadata(&file).unwrap();
        assert!(
            metadata.is_file() && metadata.permissions().mode() & 0o777 == 0o600,
            "{what}: replaced by a private file"
        );
        // And the replacement is used by the next run.
        parse_credential_process(&cached_run(&endpoint, &leaf, &cache_dir, &[]));
        assert_eq!(
            endpoint.records().len(),
            expected_records,
            "{what}: the replacement is reused"
        );
    };
    check(
        "corrupt",
        &|f| std::fs::write(f, b"{not json").unwrap(),
        "corrupt",
    );
    check(
        "readable by others",
        &|f| std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap(),
        "open to others",
    );
    check(
        "owned by another user",
        &|f| std::os::unix::fs::chown(f, Some(65534), Some(65534)).unwrap(),
        "belongs to user 65534",
    );
    let target = pki.path("elsewhere.json");
    check(
        "a symlink",
        &|f| {
            std::fs::copy(f, &target).unwrap();
            std::fs::remove_file(f).unwrap();
            std::os::unix::fs::symlink(&target, f).unwrap();
        },
        "ignoring the cache file",
    );
    // The symlink's target was never written through.
    assert!(std::fs::symlink_metadata(&target).unwrap().is_file());

    // Credentials too close to expiry are not reused: 15-minute sessions never are.
    let before = endpoint.records().len();
    for _ in 0..2 {
        parse_credential_process(&cached_run(
            &endpoint,
            &leaf,
            &cache_dir,
            &["--session-duration", "900"],
        ));
    }
    assert_eq!(endpoint.records().len(), before + 2);
}

/// A cache entry is served only when a CreateSession could have answered it: values from AWS's
/// alphabet (not empty) and a life no longer than the longest session. Anything else is
/// refetched, and the refetched credentials replace it.
#[test]
fn cache_entries_no_answer_could_hold_are_refetched() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let cache_dir = pki.path("cache");
    parse_credential_process(&cached_run(&endpoint, &leaf, &cache_dir, &[]));
    let file = cache_files(&cache_dir).remove(0);
    let mut table = Table::new("untrustworthy cache entries");
    let spoils: [(&str, &str, serde_json::Value); 5] = [
        (
            "expires in the year 9999",
            "expiration",
            "9999-12-31T23:59:59Z".into(),
        ),
        ("expires in 13 hours", "expiration", {
            let later = OffsetDateTime::now_utc() + time::Duration::hours(13);
            later
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
                .into()
        }),
        ("an empty secret", "secret_access_key", "".into()),
        ("an empty access key id", "access_key_id", "".into()),
        (
            "a newline in the token",
            "session_token",
            "AAAAAAAAAAAAAAAAAAAA\n[evil]".into(),
        ),
    ];
    for (what, key, value) in spoils {
        let mut document: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        document[key] = value;
        std::fs::write(&file, document.to_string()).unwrap();
        let before = endpoint.records().len();
        let output = cached_run(&endpoint, &leaf, &cache_dir, &[]);
        table.row(what, || {
            let served = parse_credential_process(&output);
            assert_eq!(
                endpoint.records().len(),
                before + 1,
                "a fresh CreateSession"
            );
            assert_eq!(served["AccessKeyId"], last_issued(&endpoint));
            assert!(
                stderr(&output).contains("ignoring the cache file"),
                "{}",
                stderr(&output)
            );
        });
    }
    table.assert_all_passed();
}

fn last_issued(endpoint: &LocalEndpoint) -> serde_json::Value {
    endpoint.records().pop().unwrap()["access_key_id"].clone()
}

/// Against a slow endpoint (a 503 after 6 s, then 6 s more: longer than the old 10 s lock
/// wait), concurrent cached callers wait for the one making the CreateSession and then read its
/// result: all succeed with the same credentials, and the endpoint sees one caller.
#[test]
fn cached_callers_wait_for_a_slow_create_session_and_read_its_result() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(
        &pki,
        &pki.root_pem,
        &["--delay-ms", "6000", "--fail-next", "1"],
    );
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let cache_dir = pki.path("cache");
    let outputs: Vec<std::process::Output> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| cached_run(&endpoint, &leaf, &cache_dir, &[])))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut table = Table::new("cached callers of a slow endpoint");
    let keys: std::collections::HashSet<String> = outputs
        .iter()
        .enumerate()
        .filter_map(|(i, output)| {
            let mut key = None;
            table.row(&format!("caller {i}"), || {
                assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
                key = parse_credential_process(output)["AccessKeyId"]
                    .as_str()
                    .map(str::to_string);
            });
            key
        })
        .collect();
    table.assert_all_passed();
    assert_eq!(keys.len(), 1, "every caller got the same credentials");
    assert_eq!(
        endpoint.records().len(),
        2,
        "one caller: a 503, then its retry"
    );
}
