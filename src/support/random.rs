//! Random bytes from the operating system (through ring), for serials, generated credentials,
//! retry jitter and temporary names.

use ring::rand::SecureRandom;

use crate::error::{Error, Result};

/// `n` random bytes.
pub fn bytes(n: usize) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("the system random source failed".into()))?;
    Ok(bytes)
}

/// A number in [0, 1); 0.5 if the random source fails (only jitter uses it).
pub fn fraction() -> f64 {
    match bytes(8) {
        Ok(b) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(&b);
            (u64::from_le_bytes(word) >> 11) as f64 / (1u64 << 53) as f64
        }
        Err(_) => 0.5,
    }
}
