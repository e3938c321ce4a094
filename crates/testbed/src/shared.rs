//! The state an endpoint's connections share with its handles: the verifier's configuration,
//! the fault plan, the records and the request log.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rolesanywhere_verifier::VerificationRecord;
use rolesanywhere_verifier::verify::VerifierConfig;
use time::OffsetDateTime;

use crate::config::{AnswerFault, FaultAction, FaultPlan};

/// Records kept in memory; older ones are dropped (the request log keeps them all).
pub const MAX_RECORDS_IN_MEMORY: usize = 10_000;

/// The state request handlers share with the handles.
pub(crate) struct Shared {
    pub(crate) verifier: VerifierConfig,
    clock_offset: time::Duration,
    faults: Mutex<FaultPlan>,
    answer_fault: Mutex<AnswerFault>,
    records: Mutex<VecDeque<VerificationRecord>>,
    log: Option<(PathBuf, Mutex<std::fs::File>)>,
}

/// Locks `mutex`, even one a panicking thread poisoned (the data stays usable).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// The state of a new endpoint.
    pub(crate) fn new(
        verifier: VerifierConfig,
        clock_offset: time::Duration,
        faults: FaultPlan,
        answer_fault: AnswerFault,
        log: Option<(PathBuf, Mutex<std::fs::File>)>,
    ) -> Shared {
        Shared {
            verifier,
            clock_offset,
            faults: Mutex::new(faults),
            answer_fault: Mutex::new(answer_fault),
            records: Mutex::new(VecDeque::new()),
            log,
        }
    }

    /// The endpoint's clock: the system clock plus the configured offset.
    pub(crate) fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    /// The delay before the next answer, and what the fault plan makes of it.
    pub(crate) fn take_fault(&self) -> (Duration, FaultAction) {
        let mut plan = lock(&self.faults);
        let action = plan.take();
        (plan.delay, action)
    }

    /// How the next successful answer is spoiled.
    pub(crate) fn answer_fault(&self) -> AnswerFault {
        lock(&self.answer_fault).clone()
    }

    /// Logs `record` to the request log, and keeps it in memory.
    pub(crate) fn push(&self, record: VerificationRecord) {
        if let Some((path, file)) = &self.log {
            let written = serde_json::to_string(&record)
                .map_err(std::io::Error::other)
                .and_then(|line| {
                    let mut file = lock(file);
                    file.write_all(format!("{line}\n").as_bytes())?;
                    file.flush()
                });
            if let Err(e) = written {
                tracing::warn!("cannot write the request log {}: {e}", path.display());
            }
        }
        let mut records = lock(&self.records);
        if records.len() >= MAX_RECORDS_IN_MEMORY {
            records.pop_front();
        }
        records.push_back(record);
    }
}

/// A cloneable handle on a bound or running endpoint: its records and its faults.
#[derive(Clone)]
pub struct EndpointControl {
    pub(crate) shared: Arc<Shared>,
}

impl EndpointControl {
    /// The verification records so far, oldest first (at most [`MAX_RECORDS_IN_MEMORY`]).
    pub fn records(&self) -> Vec<VerificationRecord> {
        lock(&self.shared.records).iter().cloned().collect()
    }

    /// Forgets the records kept in memory (the request log keeps them).
    pub fn clear_records(&self) {
        lock(&self.shared.records).clear();
    }

    /// Replaces the fault plan; takes effect from the next request.
    pub fn set_faults(&self, faults: FaultPlan) {
        *lock(&self.shared.faults) = faults;
    }

    /// The fault plan as it stands (counts already used up are gone).
    pub fn faults(&self) -> FaultPlan {
        *lock(&self.shared.faults)
    }

    /// Replaces how successful answers are spoiled; takes effect from the next request.
    pub fn set_answer_fault(&self, fault: AnswerFault) {
        *lock(&self.shared.answer_fault) = fault;
    }
}
