//! TPM 2.0 response codes: their names, and what a user should do about each one.

/// A response code split into its base code and what it points at (handle, parameter, session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseCode(pub(crate) u32);

/// `TPM_RC_INITIALIZE`: the TPM was reset and wants TPM2_Startup.
pub(crate) const INITIALIZE: u32 = 0x100;
/// `TPM_RC_HANDLE` (format one).
pub(crate) const HANDLE: u32 = 0x08B;
/// `TPM_RC_AUTH_FAIL` (format one): a wrong password on a key subject to dictionary-attack lockout.
pub(crate) const AUTH_FAIL: u32 = 0x08E;
/// `TPM_RC_BAD_AUTH` (format one): a wrong password on a key exempt from lockout (noDA).
pub(crate) const BAD_AUTH: u32 = 0x0A2;
/// `TPM_RC_INTEGRITY` (format one): the private blob fails its integrity check under this parent.
pub(crate) const INTEGRITY: u32 = 0x09F;
/// `TPM_RC_LOCKOUT`: dictionary-attack lockout in force.
pub(crate) const LOCKOUT: u32 = 0x921;

impl ResponseCode {
    /// The base code without the handle/parameter/session number (`0x98e` → `0x08e`).
    pub(crate) fn base(self) -> u32 {
        let code = self.0;
        if code & 0x80 != 0 {
            code & 0xBF
        } else {
            // Format zero carries no handle/parameter number: the low 12 bits are the code.
            code & 0xFFF
        }
    }

    /// True when the TPM did not run the command and asks to send it again unchanged.
    pub(crate) fn is_retry_later(self) -> bool {
        matches!(
            self.base(),
            0x908 /* YIELDED */ | 0x90A /* TESTING */ | 0x922 /* RETRY */ | 0x920 /* NV_RATE */
        )
    }

    /// True for a wrong password: never to be retried, since each try counts toward lockout.
    pub(crate) fn is_wrong_password(self) -> bool {
        matches!(self.base(), AUTH_FAIL | BAD_AUTH)
    }

    /// True when an object we loaded is gone (TPM reset, resource-manager eviction): reloading
    /// the key and trying once more is the cure.
    pub(crate) fn is_stale_object(self) -> bool {
        let base = self.base();
        let points_at_handle = self.0 & 0x80 != 0 && self.0 & 0x40 == 0 && self.0 & 0x800 == 0;
        (base == HANDLE && points_at_handle)
            || (0x910..=0x916).contains(&base) // TPM_RC_REFERENCE_H0..H6
            || base == INITIALIZE
    }

    /// The code's name, as the TPM specification spells it.
    pub(crate) fn name(self) -> &'static str {
        match self.base() {
            INITIALIZE => "TPM_RC_INITIALIZE",
            0x101 => "TPM_RC_FAILURE",
            0x103 => "TPM_RC_SEQUENCE",
            0x120 => "TPM_RC_DISABLED",
            0x125 => "TPM_RC_AUTH_MISSING",
            0x126 => "TPM_RC_POLICY",
            0x12F => "TPM_RC_AUTH_UNAVAILABLE",
            0x143 => "TPM_RC_COMMAND_CODE",
            0x144 => "TPM_RC_AUTHSIZE",
            0x145 => "TPM_RC_AUTH_CONTEXT",
            0x149 => "TPM_RC_AUTH_TYPE",
            0x081 => "TPM_RC_ASYMMETRIC",
            0x082 => "TPM_RC_ATTRIBUTES",
            0x083 => "TPM_RC_HASH",
            0x084 => "TPM_RC_VALUE",
            0x085 => "TPM_RC_HIERARCHY",
            0x087 => "TPM_RC_KEY_SIZE",
            0x08A => "TPM_RC_TYPE",
            HANDLE => "TPM_RC_HANDLE",
            0x08D => "TPM_RC_RANGE",
            AUTH_FAIL => "TPM_RC_AUTH_FAIL",
            0x092 => "TPM_RC_SCHEME",
            0x095 => "TPM_RC_SIZE",
            0x096 => "TPM_RC_SYMMETRIC",
            0x097 => "TPM_RC_TAG",
            0x09A => "TPM_RC_INSUFFICIENT",
            0x09C => "TPM_RC_KEY",
            0x09D => "TPM_RC_POLICY_FAIL",
            INTEGRITY => "TPM_RC_INTEGRITY",
            0x0A0 => "TPM_RC_TICKET",
            BAD_AUTH => "TPM_RC_BAD_AUTH",
            0x0A6 => "TPM_RC_CURVE",
            0x902 => "TPM_RC_OBJECT_MEMORY",
            0x903 => "TPM_RC_SESSION_MEMORY",
            0x904 => "TPM_RC_MEMORY",
            0x906 => "TPM_RC_OBJECT_HANDLES",
            0x907 => "TPM_RC_LOCALITY",
            0x908 => "TPM_RC_YIELDED",
            0x909 => "TPM_RC_CANCELED",
            0x90A => "TPM_RC_TESTING",
            0x910..=0x916 => "TPM_RC_REFERENCE_H",
            0x920 => "TPM_RC_NV_RATE",
            LOCKOUT => "TPM_RC_LOCKOUT",
            0x922 => "TPM_RC_RETRY",
            0x923 => "TPM_RC_NV_UNAVAILABLE",
            _ => "an unlisted TPM error",
        }
    }

    /// What to do about it, when there is something better to say than the name.
    pub(crate) fn advice(self) -> &'static str {
        match self.base() {
            AUTH_FAIL | BAD_AUTH => {
                "wrong TPM key password; it was not retried (each wrong try counts toward the TPM's dictionary-attack lockout): check --tpm-key-password"
            }
            LOCKOUT => {
                "the TPM is in dictionary-attack lockout after too many wrong passwords; wait for the lockout interval to pass, or have the TPM owner run `tpm2_dictionarylockout -c`"
            }
            INTEGRITY => {
                "the TPM refused the key blob: the key file was made for another TPM (or under another parent key, or the TPM was cleared since); use a key created on this TPM"
            }
            0x902 | 0x906 => {
                "the TPM has no free object slot; other programs left objects loaded (without a resource manager run `tpm2_flushcontext -t`, or use /dev/tpmrm0)"
            }
            0x101 => "the TPM is in failure mode; reboot the machine (or restart the simulator)",
            0x120 => {
                "the hierarchy is disabled; enable it in the firmware or with tpm2_hierarchycontrol"
            }
            0x126 | 0x09D => "the key needs a policy session, which this helper does not support",
            0x092 => "the key does not allow this signature scheme",
            0x0A0 => {
                "a restricted (attestation) key signs only data the TPM made itself; use a non-restricted signing key"
            }
            0x0A6 | 0x09C | 0x087 => "this TPM does not support the key's curve or size",
            _ => "",
        }
    }
}

impl std::fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 >> 16 != 0 {
            // A code from a software layer (resource manager, TSS), not from the TPM itself.
            return write!(f, "TPM software-layer error 0x{:x}", self.0);
        }
        let name = self.name();
        if (0x910..=0x916).contains(&self.base()) {
            write!(f, "{name}{} (0x{:x})", self.base() - 0x910, self.0)
        } else {
            write!(f, "{name} (0x{:x})", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_codes_seen_on_swtpm() {
        assert_eq!(ResponseCode(0x98e).to_string(), "TPM_RC_AUTH_FAIL (0x98e)");
        assert_eq!(ResponseCode(0x9a2).to_string(), "TPM_RC_BAD_AUTH (0x9a2)");
        assert_eq!(ResponseCode(0x1df).to_string(), "TPM_RC_INTEGRITY (0x1df)");
        assert_eq!(ResponseCode(0x921).to_string(), "TPM_RC_LOCKOUT (0x921)");
        assert_eq!(
            ResponseCode(0x902).to_string(),
            "TPM_RC_OBJECT_MEMORY (0x902)"
        );
        assert_eq!(
            ResponseCode(0x910).to_string(),
            "TPM_RC_REFERENCE_H0 (0x910)"
        );
        assert!(ResponseCode(0x98e).is_wrong_password());
        assert!(ResponseCode(0x9a2).is_wrong_password());
    }

    #[test]
    fn stale_objects_are_handle_errors_not_parameter_errors() {
        assert!(ResponseCode(0x18b).is_stale_object()); // TPM_RC_HANDLE, handle 1
        assert!(ResponseCode(0x911).is_stale_object());
        assert!(ResponseCode(0x100).is_stale_object());
        assert!(!ResponseCode(0x1cb).is_stale_object()); // TPM_RC_HANDLE on a parameter
        assert!(!ResponseCode(0x98e).is_stale_object());
        assert!(ResponseCode(0x922).is_retry_later());
    }
}
