//! The command line, flag-compatible with `aws_signing_helper` 1.8: clap definitions only.

// clap turns doc comments into help text: every flag is documented by its help, and the
// argument structs deliberately have none (clap would make it the about text of every command
// that flattens them).
#![allow(missing_docs)]

mod chain;
mod credentials;
mod daemon;
mod enrollment;
mod renewal;
mod subcommands;
mod tools;

pub use chain::ChainArgs;
pub use credentials::{CredentialArgs, KeyArgs};
pub use daemon::{ServeArgs, UpdateArgs};
pub use enrollment::{CsrArgs, GenerateKeyArgs, KeyTypeName};
pub use renewal::{RenewArgs, RenewalArgs};
pub use subcommands::{
    CredentialProcessArgs, DigestName, DoctorArgs, ExecArgs, ExportArgs, ExportFormat,
    ReadCertificateArgs, SignStringArgs, SignStringFormat,
};
pub use tools::{DemoArgs, DemoKeyType, LocalEndpointArgs};

use clap::{Parser, Subcommand};
use zeroize::Zeroizing;

/// A password or token: held zeroized from the moment clap parses it.
fn secret(value: &str) -> Result<Zeroizing<String>, std::convert::Infallible> {
    Ok(Zeroizing::new(value.to_string()))
}

#[derive(Debug, Parser)]
#[command(
    name = "rolesanywhere-helper",
    about = "Short-lived AWS credentials from an X.509 certificate through IAM Roles Anywhere",
    // `--version` prints what the `version` subcommand prints (main.rs prints it).
    version,
    // As Go's pflag: a flag given twice takes the last value.
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Each subcommand's flags are built only when it runs (or for help and completions): building all
// of them was most of a credential-process run's heap and an eighth of its instructions.
#[command(defer = true)]
pub enum Command {
    /// Retrieve AWS credentials in the format of the credential_process setting
    CredentialProcess(CredentialProcessArgs),
    /// Sign a fixed test string with the private key, to check the key works
    ///
    /// Signs AWS's fixed test message with the key, to check that the key works without calling
    /// AWS.
    SignString(SignStringArgs),
    /// Print the certificate's data as JSON (key type, DER, serial, algorithms)
    ReadCertificateData(ReadCertificateArgs),
    /// Print the credentials as shell, PowerShell, fish, JSON or ini text (like the AWS CLI's
    /// `configure export-credentials`)
    Export(ExportArgs),
    /// Run a command with the credentials and the region in its environment
    Exec(ExecArgs),
    /// Check a setup step by step and say what is wrong (same flags as credential-process)
    Doctor(DoctorArgs),
    /// Create a private key in a file, in the TPM or on a PKCS#11 token, where it stays
    ///
    /// Creates a key with exactly one destination: a PKCS#8 file (--out), the TPM (--tpm --out,
    /// the key file holding the TPM-sealed key) or a PKCS#11 token (--pkcs11 URI). Never
    /// overwrites a file or a token object. Prints what to give as --private-key.
    GenerateKey(GenerateKeyArgs),
    /// Print a PKCS#10 certificate signing request signed by the key, wherever it lives
    ///
    /// Prints (or writes with --out) a PEM certificate signing request for --subject and the
    /// --dns/--uri/--ip names, signed by --private-key: a file, a TPM key file, handle:0x81…, or
    /// a pkcs11: URI (same password, PIN and module flags as signing). RSA keys sign with SHA-256,
    /// EC keys with ECDSA and SHA-256 (P-256), SHA-384 (P-384) or SHA-512 (P-521).
    Csr(CsrArgs),
    /// Print the version
    Version,
    /// Print a shell completion script
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Serve always-fresh credentials over IMDSv2 and a container-credentials endpoint
    Serve(ServeArgs),
    /// Keep a profile of the shared credentials file current
    Update(UpdateArgs),
    /// Renew the certificate with --renew-command if it is due, once (for a systemd timer or cron)
    ///
    /// Checks once whether the certificate is due for renewal (--renew-before) and, if it is, runs
    /// --renew-command with a fresh request for the same key and replaces the certificate file with
    /// what it prints. Exits 0 when it renewed or when nothing was due (the command is not run then);
    /// otherwise exits non-zero with every file left as it was.
    Renew(RenewArgs),
    /// Run a local Roles Anywhere endpoint that verifies CreateSession requests (tests, CI)
    ///
    /// Checks what the service checks: the signature against the X-Amz-X509 certificate (verified by
    /// a different library than the one the helper signs with), the serial in the credential scope,
    /// the chain to the CA (at most 5 certificates), validity, v3 / CA:false / digitalSignature,
    /// X-Amz-Date within --max-clock-skew, the duration and the ARNs. Answers 201 with fresh random
    /// credentials or the AWS-shaped error.
    LocalEndpoint(LocalEndpointArgs),
    /// Try it with no AWS account: throwaway CA, local endpoint, credential-process against it
    ///
    /// Creates a throwaway CA and client certificate, starts the local endpoint on 127.0.0.1, runs
    /// the real credential-process path against it, and prints the credentials and what the endpoint
    /// verified.
    Demo(DemoArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_flags_take_the_last_value_as_go_does_but_role_lists_append() {
        let cli = Cli::try_parse_from([
            "x",
            "credential-process",
            "--role-arn",
            "first",
            "--role-arn",
            "second",
        ])
        .unwrap();
        let Command::CredentialProcess(args) = cli.command else {
            panic!("wrong command")
        };
        assert_eq!(args.credentials.role_arn, "second");
        let cli = Cli::try_parse_from([
            "x",
            "local-endpoint",
            "--ca-bundle",
            "ca.pem",
            "--trust-anchor-arn",
            "t",
            "--profile-arn",
            "p",
            "--role-arn",
            "r1",
            "--role-arn",
            "r2",
        ])
        .unwrap();
        let Command::LocalEndpoint(args) = cli.command else {
            panic!("wrong command")
        };
        assert_eq!(args.role_arns, ["r1", "r2"]);
    }

    #[test]
    fn booleans_accept_go_forms() {
        for (flag, expected) in [
            ("--debug", Some(true)),
            ("--debug=true", Some(true)),
            ("--debug=false", Some(false)),
        ] {
            let cli = Cli::try_parse_from(["x", "sign-string", flag]).unwrap();
            let Command::SignString(args) = cli.command else {
                panic!("wrong command")
            };
            assert_eq!(args.key.debug, expected, "{flag}");
        }
    }
}
