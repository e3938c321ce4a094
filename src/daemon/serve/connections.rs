//! How many connections `serve` holds at once, and what it does when that many are open: the
//! oldest idle one is closed to make room, so a flood of idle or half-sent connections can
//! neither starve the clients nor use up the descriptors the refresher needs (its
//! CreateSession's socket, the certificate and key files).
//!
//! A connection is busy while a request on it is being answered (at most the credentials wait,
//! 10 s); otherwise it is idle: between requests, or still sending its request head (slowloris).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// The most connections held at once when descriptors are plenty. SDKs open one at a time, for
/// a moment; 512 is far beyond what one host's clients need.
pub(super) const MAX_CONNECTIONS: usize = 512;

/// The fewest connections allowed, however low the descriptor limit.
const MIN_CONNECTIONS: usize = 4;

/// Descriptors kept out of the connections' reach for everything else: standard streams,
/// the runtime, the listeners, the refresher's CreateSession (socket, certificate, key, chain
/// and CA files) and the connection waiting to be admitted. A quarter of the limit, 32 to 256.
pub(super) fn reserved_descriptors(limit: u64) -> u64 {
    (limit / 4).clamp(32, 256)
}

/// The connection cap for a descriptor limit.
pub(super) fn cap_for(descriptor_limit: u64) -> usize {
    let available = descriptor_limit.saturating_sub(reserved_descriptors(descriptor_limit));
    usize::try_from(available)
        .unwrap_or(usize::MAX)
        .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS)
}

struct Entry {
    /// Requests being answered on it now.
    busy: usize,
    /// Since when it has been idle (accepted, or its last answer given).
    idle_since: Instant,
    /// Closes it.
    close: Option<oneshot::Sender<()>>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    live: HashMap<u64, Entry>,
}

/// The connections held now, at most `cap`.
pub(super) struct Connections {
    table: Mutex<Table>,
    slots: Arc<Semaphore>,
    cap: usize,
}

impl Connections {
    pub(super) fn new(cap: usize) -> Arc<Connections> {
        let cap = cap.max(1);
        Arc::new(Connections {
            table: Mutex::new(Table::default()),
            slots: Arc::new(Semaphore::new(cap)),
            cap,
        })
    }

    pub(super) fn cap(&self) -> usize {
        self.cap
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many are held now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().live.len()
    }

    /// Makes room for a connection just accepted: a free slot, else the oldest idle connection
    /// is closed and its slot taken; if every one is busy, waits for the first to finish.
    pub(super) async fn admit(self: &Arc<Self>) -> Admitted {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.close_oldest_idle();
                match self.slots.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    // The semaphore is never closed; a connection over the cap is still served.
                    Err(_) => return self.register(None),
                }
            }
        };
        self.register(Some(permit))
    }

    fn register(self: &Arc<Self>, permit: Option<OwnedSemaphorePermit>) -> Admitted {
        let (close, closed) = oneshot::channel();
        let mut table = self.lock();
        let id = table.next_id;
        table.next_id = table.next_id.wrapping_add(1);
        table.live.insert(
            id,
            Entry {
                busy: 0,
                idle_since: Instant::now(),
                close: Some(close),
            },
        );
        Admitted {
            handle: Handle {
                connections: self.clone(),
                id,
            },
            closed,
            _permit: permit,
        }
    }

    /// Closes the connection idle the longest, if any is idle.
    fn close_oldest_idle(&self) {
        let mut table = self.lock();
        let oldest = table
            .live
            .iter()
            .filter(|(_, entry)| entry.busy == 0 && entry.close.is_some())
            .min_by_key(|(_, entry)| entry.idle_since)
            .map(|(id, _)| *id);
        if let Some(entry) = oldest.and_then(|id| table.live.get_mut(&id))
            && let Some(close) = entry.close.take()
        {
            tracing::debug!(
                cap = self.cap,
                "connection limit reached: closing the connection idle the longest"
            );
            let _ = close.send(());
        }
    }
}

/// A connection's place among those held: its slot, and the signal that closes it.
pub(super) struct Admitted {
    pub(super) handle: Handle,
    /// Fires when the connection is to be closed to make room.
    pub(super) closed: oneshot::Receiver<()>,
    _permit: Option<OwnedSemaphorePermit>,
}

/// Marks a connection busy or idle; dropping the last [`Admitted`]'s handle forgets it.
#[derive(Clone)]
pub(super) struct Handle {
    connections: Arc<Connections>,
    id: u64,
}

impl Handle {
    /// A request is being answered until the returned guard drops.
    pub(super) fn busy(&self) -> Busy {
        if let Some(entry) = self.connections.lock().live.get_mut(&self.id) {
            entry.busy += 1;
        }
        Busy {
            handle: self.clone(),
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.handle.connections.lock().live.remove(&self.handle.id);
    }
}

/// A request in progress on a connection.
pub(super) struct Busy {
    handle: Handle,
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(entry) = self.handle.connections.lock().live.get_mut(&self.handle.id) {
            entry.busy = entry.busy.saturating_sub(1);
            entry.idle_since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_descriptors_in_reserve() {
        assert_eq!(cap_for(64), 32);
        assert_eq!(cap_for(1024), MAX_CONNECTIONS);
        assert_eq!(cap_for(1_048_576), MAX_CONNECTIONS);
        assert_eq!(cap_for(10), MIN_CONNECTIONS);
        for limit in [64, 100, 300, 1024, 4096] {
            assert!(limit - cap_for(limit) as u64 >= 32, "{limit}");
        }
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_is_closed_never_a_busy_one() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let connections = Connections::new(3);
            let busy_one = connections.admit().await;
            let _request = busy_one.handle.busy();
            let mut oldest_idle = connections.admit().await;
            std::thread::sleep(std::time::Duration::from_millis(2));
            let mut newer_idle = connections.admit().await;
            assert_eq!(connections.len(), 3);
            // A fourth: the oldest idle one is told to close; the slot is free once it has.
            let fourth = {
                let connections = connections.clone();
                tokio::spawn(async move { connections.admit().await })
            };
            tokio::time::timeout(std::time::Duration::from_secs(5), &mut oldest_idle.closed)
                .await
                .expect("the oldest idle connection is closed")
                .unwrap();
            assert!(newer_idle.closed.try_recv().is_err(), "the newer one stays");
            drop(oldest_idle);
            let fourth = tokio::time::timeout(std::time::Duration::from_secs(5), fourth)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(connections.len(), 3);
            drop(fourth);
            drop(newer_idle);
            drop(busy_one);
            assert_eq!(connections.len(), 0);
        });
    }
}
