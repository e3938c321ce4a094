//! Where TPM command bytes go: a TPM character device (`/dev/tpmrm0`, `/dev/tpm0`) or a TPM
//! simulator's raw command socket (swtpm's TCP data port or UNIX socket), chosen by `TPM_DEVICE`.
//!
//! `TPM_DEVICE` syntax:
//! - a path: a character device, or a UNIX socket (swtpm `--server type=unixio,path=…`);
//! - `swtpm:host=HOST,port=PORT` or `swtpm:path=SOCKET` (the tpm2-tss TCTI spelling);
//! - `tcp:HOST:PORT`, `unix:PATH`, `device:PATH`.
//!
//! Unset: `/dev/tpmrm0` (the kernel resource manager), then `/dev/tpm0`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable naming the TPM, as AWS's helper reads it.
pub(crate) const TPM_DEVICE_ENV: &str = "TPM_DEVICE";

/// How long a TPM may take to answer one command (RSA key creation on a slow TPM takes seconds).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest response the kernel driver hands out (TPM_BUFSIZE).
const MAX_RESPONSE: usize = 4096;

/// A TPM to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Device(PathBuf),
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Device(path) => write!(f, "{}", path.display()),
            Target::Unix(path) => write!(f, "unix:{}", path.display()),
            Target::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
        }
    }
}

impl Target {
    /// The TPM `spec` names (a `TPM_DEVICE` value), or why it cannot be used.
    pub(crate) fn parse(spec: &str) -> Result<Target, String> {
        let spec = spec.trim();
        if let Some(options) = spec.strip_prefix("swtpm:") {
            let mut host = "localhost".to_string();
            let mut port = 2321u16;
            for option in options.split(',').filter(|o| !o.is_empty()) {
                match option.split_once('=') {
                    Some(("host", value)) => host = value.to_string(),
                    Some(("port", value)) => {
                        port = value
                            .parse()
                            .map_err(|_| format!("port={value} is not a port number"))?;
                    }
                    Some(("path", value)) => return Ok(Target::Unix(PathBuf::from(value))),
                    _ => {
                        return Err(format!(
                            "unknown swtpm option `{option}`; use swtpm:host=HOST,port=PORT or swtpm:path=SOCKET"
                        ));
                    }
                }
            }
            return Ok(Target::Tcp { host, port });
        }
        if let Some(address) = spec
            .strip_prefix("tcp://")
            .or_else(|| spec.strip_prefix("tcp:"))
        {
            let (host, port) = address
                .rsplit_once(':')
                .ok_or("tcp: needs HOST:PORT, e.g. tcp:127.0.0.1:2321")?;
            let port = port
                .parse()
                .map_err(|_| format!("`{port}` is not a port number"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            return Ok(Target::Tcp {
                host: host.to_string(),
                port,
            });
        }
        if let Some(path) = spec.strip_prefix("unix:") {
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        if let Some(path) = spec.strip_prefix("device:") {
            return Ok(Target::Device(PathBuf::from(path)));
        }
        if spec.starts_with("mssim:") || spec.starts_with("tabrmd") {
            return Err(
                "the mssim and tabrmd protocols are not spoken here; give the TPM device, or a swtpm socket (swtpm:host=…,port=… or a UNIX socket path)".into(),
            );
        }
        if spec.is_empty() {
            return Err("is empty".into());
        }
        let path = PathBuf::from(spec);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.file_type().is_socket() => Ok(Target::Unix(path)),
            _ => Ok(Target::Device(path)),
        }
    }

    /// `TPM_DEVICE` when set (or `device_override`), else the first device that exists.
    pub(crate) fn choose(device_override: Option<&str>) -> Result<Target, String> {
        let from_env = std::env::var(TPM_DEVICE_ENV).ok();
        if let Some(spec) = device_override.or(from_env.as_deref()) {
            return Target::parse(spec).map_err(|e| format!("{TPM_DEVICE_ENV}={spec}: {e}"));
        }
        for candidate in ["/dev/tpmrm0", "/dev/tpm0"] {
            if Path::new(candidate).exists() {
                return Ok(Target::Device(PathBuf::from(candidate)));
            }
        }
        Err(format!(
            "no TPM found: neither /dev/tpmrm0 nor /dev/tpm0 exists; enable the TPM in the firmware, or set {TPM_DEVICE_ENV} (a device, a swtpm socket path, or swtpm:host=HOST,port=PORT)"
        ))
    }
}

/// An open line to a TPM.
pub(crate) enum Transport {
    Device(std::fs::File),
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Transport {
    /// Opens `target`; the error says what to check.
    pub(crate) fn open(target: &Target) -> Result<Transport, String> {
        match target {
            Target::Device(path) => std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map(Transport::Device)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        format!("{}: no such TPM device", path.display())
                    }
                    std::io::ErrorKind::PermissionDenied => format!(
                        "{}: permission denied; add the user to the group owning it (often `tss`)",
                        path.display()
                    ),
                    _ if e.raw_os_error() == Some(16) => format!(
                        "{}: busy (another program, e.g. tpm2-abrmd, holds it); use /dev/tpmrm0",
                        path.display()
                    ),
                    _ => format!("{}: cannot open: {e}", path.display()),
                }),
            Target::Unix(path) => {
                let stream = UnixStream::connect(path).map_err(|e| {
                    format!("{}: cannot connect to the TPM socket: {e}", path.display())
                })?;
                stream
                    .set_read_timeout(Some(ANSWER_TIMEOUT))
                    .map_err(|e| e.to_string())?;
                Ok(Transport::Unix(stream))
            }
            Target::Tcp { host, port } => {
                let addresses = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(|e| format!("tcp:{host}:{port}: cannot resolve: {e}"))?;
                let mut last_error = format!("tcp:{host}:{port}: no address");
                for address in addresses {
                    match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
                        Ok(stream) => {
                            stream
                                .set_read_timeout(Some(ANSWER_TIMEOUT))
                                .map_err(|e| e.to_string())?;
                            let _ = stream.set_nodelay(true);
                            return Ok(Transport::Tcp(stream));
                        }
                        Err(e) => {
                            last_error = format!(
                                "tcp:{host}:{port}: cannot connect to the TPM simulator: {e}"
                            );
                        }
                    }
                }
                Err(last_error)
            }
        }
    }

    /// Sends one command and returns the whole response.
    pub(crate) fn transact(&mut self, command: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Transport::Device(file) => {
                // The driver takes one command per write and gives the whole answer in one read.
                file.write_all(command)?;
                let mut buffer = vec![0u8; MAX_RESPONSE];
                let len = file.read(&mut buffer)?;
                buffer.truncate(len);
                Ok(buffer)
            }
            Transport::Unix(stream) => stream_transact(stream, command),
            Transport::Tcp(stream) => stream_transact(stream, command),
        }
    }
}

/// A byte stream has no message boundaries: read the header, then as many bytes as it says.
pub(crate) fn stream_transact(
    stream: &mut (impl Read + Write),
    command: &[u8],
) -> std::io::Result<Vec<u8>> {
    stream.write_all(command)?;
    stream.flush()?;
    let mut header = [0u8; 10];
    stream.read_exact(&mut header)?;
    let size = super::wire::response_size(&header);
    if !(10..=65536).contains(&size) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("implausible response size {size}"),
        ));
    }
    let mut response = header.to_vec();
    response.resize(size, 0);
    stream.read_exact(&mut response[10..])?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_spelling() {
        let tcp = |host: &str, port| Target::Tcp {
            host: host.into(),
            port,
        };
        assert_eq!(
            Target::parse("swtpm:host=127.0.0.1,port=2331"),
            Ok(tcp("127.0.0.1", 2331))
        );
        assert_eq!(Target::parse("swtpm:"), Ok(tcp("localhost", 2321)));
        assert_eq!(
            Target::parse("tcp:127.0.0.1:2321"),
            Ok(tcp("127.0.0.1", 2321))
        );
        assert_eq!(Target::parse("tcp://[::1]:2321"), Ok(tcp("::1", 2321)));
        assert_eq!(
            Target::parse("swtpm:path=/run/tpm.sock"),
            Ok(Target::Unix("/run/tpm.sock".into()))
        );
        assert_eq!(
            Target::parse("unix:/run/tpm.sock"),
            Ok(Target::Unix("/run/tpm.sock".into()))
        );
        assert_eq!(
            Target::parse("/dev/tpmrm0"),
            Ok(Target::Device("/dev/tpmrm0".into()))
        );
        assert!(Target::parse("mssim:host=x").is_err());
        assert!(Target::parse("swtpm:port=x").is_err());
        assert!(Target::parse("tcp:nohost").is_err());
    }
}
