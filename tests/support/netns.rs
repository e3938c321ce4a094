//! A private network namespace with a non-loopback address of its own, deleted when dropped:
//! tests of addresses beyond loopback never depend on (or touch) the host's interfaces.

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use super::{next_unique, run_bounded};

/// A network namespace made by `ip netns add` with loopback up and a veth pair whose one end
/// has [`NetNs::address`] (TEST-NET-2, only ever inside this namespace).
pub struct NetNs {
    pub name: String,
    pub address: IpAddr,
}

/// Runs `ip` with `args`, failing the test loudly if it cannot.
fn ip(args: &[&str]) {
    let mut command = Command::new("ip");
    command.args(args);
    let output = run_bounded(&mut command, Duration::from_secs(20));
    assert!(
        output.status.success(),
        "ip {args:?} failed (this test needs root and iproute2; ./scripts/test.sh installs it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl NetNs {
    pub fn create() -> NetNs {
        assert!(
            Command::new("ip").arg("-V").output().is_ok(),
            "no `ip` command: install iproute2 (./scripts/test.sh does)"
        );
        let name = format!("rah-test-{}", next_unique());
        ip(&["netns", "add", &name]);
        // From here on the namespace exists: Drop deletes it whatever fails next.
        let netns = NetNs {
            name,
            address: "198.51.100.1".parse().unwrap(),
        };
        let ns = netns.name.as_str();
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        ip(&[
            "-n", ns, "link", "add", "rah0", "type", "veth", "peer", "name", "rah1",
        ]);
        ip(&["-n", ns, "addr", "add", "198.51.100.1/24", "dev", "rah0"]);
        ip(&["-n", ns, "link", "set", "rah0", "up"]);
        ip(&["-n", ns, "link", "set", "rah1", "up"]);
        netns
    }

    /// Runs `body` on a thread inside the namespace: its sockets, and every process it starts,
    /// are in the namespace. A panic in `body` fails the caller.
    pub fn run<T: Send>(&self, body: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                let file = std::fs::File::open(&path)
                    .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
                // SAFETY: setns on a valid namespace fd; it changes only this thread.
                let entered = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(
                    entered,
                    0,
                    "setns into {path}: {}",
                    std::io::Error::last_os_error()
                );
                body()
            });
            match handle.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
