//! `local-endpoint`: the test bed's endpoint (`rolesanywhere-testbed`) as a command. Its flags
//! become the test bed's plain [`EndpointConfig`] here, and the test bed's errors become the
//! helper's, with the same exit codes and one-line messages.

use std::time::Duration;

use rolesanywhere_testbed::{
    BoundEndpoint, EndpointConfig, FaultPlan, TlsIdentity, serve_until_signal, write_atomically,
};

use crate::cli::LocalEndpointArgs;
use crate::error::{Error, Result};

impl From<rolesanywhere_testbed::Error> for Error {
    fn from(e: rolesanywhere_testbed::Error) -> Self {
        match e {
            rolesanywhere_testbed::Error::InvalidArgument { flag, problem } => {
                Error::InvalidArgument { flag, problem }
            }
            rolesanywhere_testbed::Error::BadInput { input, problem } => {
                Error::BadInput { input, problem }
            }
            rolesanywhere_testbed::Error::Internal(message) => Error::Internal(message),
        }
    }
}

/// The configuration the `local-endpoint` flags describe.
pub fn config_from_args(args: &LocalEndpointArgs) -> Result<EndpointConfig> {
    let ca = crate::support::input_file::read(&args.ca_bundle, "--ca-bundle")?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsIdentity {
            cert_chain_pem: crate::support::input_file::read(cert, "--tls-cert")?,
            key_pem: crate::support::input_file::read_secret(key, "--tls-key")?,
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(Error::invalid_argument(
                "--tls-key",
                "is required with --tls-cert",
            ));
        }
        (None, Some(_)) => {
            return Err(Error::invalid_argument(
                "--tls-cert",
                "is required with --tls-key",
            ));
        }
    };
    if tls.is_some() && args.write_tls_ca.is_some() {
        return Err(Error::invalid_argument(
            "--write-tls-ca",
            "only a generated TLS certificate has a CA to write; drop --tls-cert/--tls-key or --write-tls-ca",
        ));
    }
    let mut config = EndpointConfig::new(
        ca,
        &args.trust_anchor_arn,
        &args.profile_arn,
        args.role_arns.clone(),
    );
    config.listen = args.listen;
    config.tls = tls;
    config.max_clock_skew = Duration::from_secs(args.max_clock_skew);
    config.clock_offset = time::Duration::seconds(args.clock_offset);
    config.request_log = args.request_log.clone();
    config.faults = FaultPlan {
        fail_next: args.fail_next,
        fail_status: args.fail_status,
        drop_next: args.drop_next,
        delay: Duration::from_millis(args.delay_ms),
    };
    Ok(config)
}

/// `local-endpoint`: binds, writes `--write-tls-ca` then `--ready-file`, prints the URL on
/// stderr, and serves until SIGINT or SIGTERM.
pub fn run(args: &LocalEndpointArgs) -> Result<()> {
    let config = config_from_args(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
    let bound = BoundEndpoint::bind(config)?;
    let served = runtime.block_on(serve_until_signal(bound, |bound| {
        if let Some(path) = &args.write_tls_ca {
            let pem = bound.tls_ca_pem().unwrap_or_default();
            write_atomically(path, pem.as_bytes(), "--write-tls-ca")?;
        }
        if let Some(path) = &args.ready_file {
            write_atomically(
                path,
                format!("{}\n", bound.url()).as_bytes(),
                "--ready-file",
            )?;
        }
        eprintln!(
            "rolesanywhere-helper local-endpoint: listening on {}",
            bound.url()
        );
        Ok(())
    }));
    Ok(served?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExitClass;

    #[test]
    fn test_bed_errors_keep_their_exit_class_and_message() {
        let cases = [
            (
                rolesanywhere_testbed::Error::invalid_argument("--listen", "not loopback"),
                ExitClass::Usage,
                "--listen: not loopback",
            ),
            (
                rolesanywhere_testbed::Error::bad_input("--ca-bundle", "no CERTIFICATE block"),
                ExitClass::BadInput,
                "--ca-bundle: no CERTIFICATE block",
            ),
            (
                rolesanywhere_testbed::Error::Internal("starting the endpoint thread: x".into()),
                ExitClass::Internal,
                "starting the endpoint thread: x",
            ),
        ];
        for (testbed_error, class, message) in cases {
            assert_eq!(testbed_error.to_string(), message);
            let error = Error::from(testbed_error);
            assert_eq!(
                (error.class(), error.to_string().as_str()),
                (class, message)
            );
        }
    }
}
