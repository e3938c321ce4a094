//! The command line itself: help, version and the one-line usage errors.

use crate::support::*;

/// The commands that sign, each of which takes the three ARNs.
const SIGNING_COMMANDS: &[&str] = &[
    "credential-process",
    "export",
    "exec",
    "doctor",
    "serve",
    "update",
];

#[test]
fn help_lists_the_three_required_arns_first_and_shows_no_empty_default() {
    let mut table = Table::new("help");
    for command in SIGNING_COMMANDS {
        for flag in ["-h", "--help"] {
            table.row(&format!("{command} {flag}"), || {
                let output = helper(&[command, flag], &[]);
                assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
                let help = String::from_utf8_lossy(&output.stdout);
                let position = |name: &str| {
                    help.find(&format!("      {name} "))
                        .unwrap_or_else(|| panic!("{name} is not in the help:\n{help}"))
                };
                let order = [
                    "--trust-anchor-arn",
                    "--profile-arn",
                    "--role-arn",
                    "--certificate",
                    "--private-key",
                ]
                .map(position);
                assert!(order.is_sorted(), "order {order:?} in:\n{help}");
                assert!(!help.contains("[default: \"\"]"), "{help}");
                assert!(!help.contains("[default: ]"), "{help}");
            });
        }
    }
    table.assert_all_passed();
}

#[test]
fn version_flag_prints_what_the_version_subcommand_prints() {
    let subcommand = helper(&["version"], &[]);
    assert_eq!(subcommand.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&subcommand.stdout),
        format!("{}\n", env!("CARGO_PKG_VERSION"))
    );
    for flag in ["--version", "-V"] {
        let output = helper(&[flag], &[]);
        assert_eq!(output.status.code(), Some(0), "{flag}: {}", stderr(&output));
        assert_eq!(output.stdout, subcommand.stdout, "{flag}");
        assert!(output.stderr.is_empty(), "{flag}: {}", stderr(&output));
    }
}

#[test]
fn mistyped_subcommands_flags_and_values_get_clap_s_suggestion_in_the_one_line_error() {
    let mut table = Table::new("suggestions");
    for (args, expected) in [
        (
            &["credential-proces"][..],
            "rolesanywhere-helper: unrecognized subcommand 'credential-proces' (did you mean 'credential-process'?); see --help",
        ),
        (&["servee"][..], "(did you mean 'serve'?)"),
        (
            &["credential-process", "--role-ar", "x"][..],
            "unexpected argument '--role-ar' found (did you mean '--role-arn'?); see --help",
        ),
        (
            &["update", "--profil", "x"][..],
            "(did you mean '--profile'?)",
        ),
        (
            &["export", "--format", "fsh"][..],
            "(did you mean 'fish'?); see --help",
        ),
    ] {
        table.row(&args.join(" "), || {
            assert_clean_failure(&helper(args, &[]), 2, expected);
        });
    }
    table.assert_all_passed();
}
