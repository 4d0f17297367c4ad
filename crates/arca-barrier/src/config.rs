//! Rotation settings and their limits.

use std::time::Duration;

use crate::BarrierError;

/// The most encryptions one term may perform: 10% short of the NIST SP 800-38D bound of
/// 2^32 for random 96-bit nonces, the same figure Vault and OpenBao use. It also applies
/// when automatic rotation is disabled.
pub const ABSOLUTE_OPERATION_MAXIMUM: u64 = 3_865_470_566;

/// The smallest `max_operations` the `sys/rotate/config` API accepts (the barrier itself
/// accepts smaller values, which tests use).
pub const ABSOLUTE_OPERATION_MINIMUM: u64 = 1_000_000;

/// The shortest non-zero `interval` the `sys/rotate/config` API accepts.
pub const MINIMUM_ROTATION_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// How many encryptions one keyring write reserves for the active term.
pub const RESERVATION_BLOCK: u64 = 1_000_000;

/// When and whether the active term is rotated automatically (`sys/rotate/config`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RotationConfig {
    /// Automatic rotation on `max_operations` and `interval`. When false, a term is still
    /// rotated at [`ABSOLUTE_OPERATION_MAXIMUM`].
    pub enabled: bool,
    /// Encryptions after which the active term is rotated.
    pub max_operations: u64,
    /// Age after which the active term is rotated; zero disables time-based rotation.
    pub interval: Duration,
}

impl Default for RotationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_operations: ABSOLUTE_OPERATION_MAXIMUM,
            interval: Duration::ZERO,
        }
    }
}

impl RotationConfig {
    /// The limits the `sys/rotate/config` endpoint enforces (Vault's): `max_operations` in
    /// `[ABSOLUTE_OPERATION_MINIMUM, ABSOLUTE_OPERATION_MAXIMUM]`, `interval` zero or at
    /// least [`MINIMUM_ROTATION_INTERVAL`].
    pub fn validate_for_api(&self) -> Result<(), BarrierError> {
        if !(ABSOLUTE_OPERATION_MINIMUM..=ABSOLUTE_OPERATION_MAXIMUM).contains(&self.max_operations)
        {
            return Err(BarrierError::InvalidRotationConfig(
                "max_operations out of range",
            ));
        }
        if !self.interval.is_zero() && self.interval < MINIMUM_ROTATION_INTERVAL {
            return Err(BarrierError::InvalidRotationConfig(
                "interval must be zero or at least 24h",
            ));
        }
        Ok(())
    }

    /// The looser check the barrier itself applies: any `max_operations` from 1 up to the
    /// absolute maximum.
    pub(crate) fn validate(&self) -> Result<(), BarrierError> {
        if self.max_operations == 0 || self.max_operations > ABSOLUTE_OPERATION_MAXIMUM {
            return Err(BarrierError::InvalidRotationConfig(
                "max_operations out of range",
            ));
        }
        Ok(())
    }

    /// Encryptions a term may perform before it must be rotated.
    pub(crate) fn term_limit(&self) -> u64 {
        if self.enabled {
            self.max_operations.clamp(1, ABSOLUTE_OPERATION_MAXIMUM)
        } else {
            ABSOLUTE_OPERATION_MAXIMUM
        }
    }

    /// The time-based rotation interval, when one applies.
    pub(crate) fn rotation_interval(&self) -> Option<Duration> {
        (self.enabled && !self.interval.is_zero()).then_some(self.interval)
    }
}

/// Settings for [`Barrier::initialize`](crate::Barrier::initialize).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BarrierOptions {
    /// The initial rotation configuration, stored in the keyring.
    pub rotation: RotationConfig,
}
