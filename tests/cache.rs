//! The opt-in credential cache: many parallel credential-process runs make one CreateSession,
//! and a corrupt, foreign, shared or symlinked cache file is never trusted.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use rolesanywhere_testbed::pki::KeyKind;

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
