//! systemd's readiness protocol (sd_notify): one datagram to the unix socket in `$NOTIFY_SOCKET`.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `READY=1`) to systemd; a no-op outside a `Type=notify` service.
/// Failures are logged, never fatal: the service works without systemd.
pub fn notify(state: &str) {
    let Some(socket_path) = std::env::var_os("NOTIFY_SOCKET").filter(|p| !p.is_empty()) else {
        return;
    };
    if let Err(e) = send(&socket_path, state) {
        tracing::warn!("cannot notify systemd through NOTIFY_SOCKET: {e}");
    }
}

/// How long one notification may wait for room in the receiver's queue (a datagram socket's
/// queue holds about 10): a reader that stops reading delays the refresher this long per
/// notification and drops the notification, instead of stopping the refresher for good.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(200);

fn send(socket_path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let socket = UnixDatagram::unbound()?;
    socket.set_write_timeout(Some(SEND_TIMEOUT))?;
    let bytes = socket_path.as_bytes();
    // '@' names a socket in Linux's abstract namespace.
    if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt as _;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)?;
            socket.send_to_addr(state.as_bytes(), &address)?;
            return Ok(());
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = abstract_name;
            return Err(std::io::Error::other(
                "abstract sockets exist only on Linux",
            ));
        }
    }
    socket.send_to(state.as_bytes(), socket_path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_one_datagram_to_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let receiver = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }

    /// Found by the outage campaign: the refresher reports every failure, and once a reader
    /// that does not read had 10 datagrams queued, the next send blocked forever, and with it
    /// every refresh.
    #[test]
    fn a_reader_that_stops_reading_never_blocks_the_sender() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let _receiver = UnixDatagram::bind(&path).unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let sender = std::thread::spawn(move || {
            let results: Vec<bool> = (0..15)
                .map(|i| send(path.as_os_str(), &format!("STATUS=failure {i}")).is_ok())
                .collect();
            done.send(results).unwrap();
        });
        let results = finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the sends returned");
        sender.join().unwrap();
        assert!(results[..5].iter().all(|ok| *ok), "{results:?}");
        assert!(!results[14], "the queue is full: the last one is dropped");
    }
}
