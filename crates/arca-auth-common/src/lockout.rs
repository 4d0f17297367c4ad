//! Failed-login lockout, per mount and per name (a username, an AppRole role name).
//!
//! Semantics follow OpenBao's user lockout: a failed login of an existing name counts;
//! the count starts again at 1 when the previous failure is older than
//! `lockout_counter_reset`; once the count reaches `lockout_threshold`, logins under that
//! name are refused until `lockout_duration` has passed since the last failure; a
//! successful login clears the record. Unlike OpenBao, a locked name is refused with the
//! method's ordinary failed-login answer (400), so a lockout never tells an attacker that
//! the name exists.
//!
//! Records live in the mount's own (barrier-encrypted) storage, under
//! `lockout/<normalised name>`, so they survive restarts and are shared by every node.
//! [`Lockout::begin`] holds a per-name lock for the whole attempt, so parallel guesses
//! cannot all pass the check before the first failure is recorded.
//!
//! Configuration, most specific first: the mount's `config/lockout` endpoint
//! ([`write_config`]), the mount's `options` (`lockout_threshold`, `lockout_duration`,
//! `lockout_counter_reset`, `disable_lockout`), the defaults (5 failures, 15 minutes,
//! 15 minutes, enabled). A `0` written to the endpoint removes that override.
//!
//! For the core's `sys/locked-users`: [`list_locked`] and [`unlock`] take the mount's
//! storage view and work on any mount of a method that uses this module.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use arca_logical::{FieldData, LogicalError, LogicalResult, Operation, Request, Response};
use arca_storage::Storage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::MutexGuard;

use crate::{AuthCommonError, KeyedLocks, format_rfc3339_nanos, unix_nanos};

/// Storage prefix of lockout records.
pub const RECORD_PREFIX: &str = "lockout/";
/// Storage key of the mount's lockout configuration overrides.
pub const CONFIG_KEY: &str = "config/lockout";

/// Default `lockout_threshold`.
pub const DEFAULT_THRESHOLD: u64 = 5;
/// Default `lockout_duration`.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(15 * 60);
/// Default `lockout_counter_reset`.
pub const DEFAULT_COUNTER_RESET: Duration = Duration::from_secs(15 * 60);

/// The effective lockout settings of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutConfig {
    /// Failures (within the reset window) that lock a name.
    pub threshold: u64,
    /// How long a name stays locked after its last failure.
    pub duration: Duration,
    /// A failure older than this no longer counts toward the threshold.
    pub counter_reset: Duration,
    /// No counting and no locking at all.
    pub disabled: bool,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            duration: DEFAULT_DURATION,
            counter_reset: DEFAULT_COUNTER_RESET,
            disabled: false,
        }
    }
}

/// Overrides stored by `config/lockout`; absent fields fall back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lockout_threshold: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lockout_duration: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lockout_counter_reset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disable_lockout: Option<bool>,
}

impl LockoutConfig {
    /// The defaults overridden by a mount's `options`. Values that do not parse are ignored
    /// (and logged without their value).
    pub fn from_options(options: &BTreeMap<String, String>) -> Self {
        let mut c = Self::default();
        let dur = |k: &str| -> Option<Duration> {
            let v = options.get(k)?;
            match arca_logical::FieldData::new(&Map::from_iter([(
                k.to_owned(),
                Value::String(v.clone()),
            )]))
            .duration(k)
            {
                Ok(d) => d,
                Err(_) => {
                    tracing::warn!(option = k, "ignoring an unparsable lockout mount option");
                    None
                }
            }
        };
        if let Some(v) = options.get("lockout_threshold") {
            match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => c.threshold = n,
                _ => tracing::warn!(
                    option = "lockout_threshold",
                    "ignoring an unparsable lockout mount option"
                ),
            }
        }
        if let Some(d) = dur("lockout_duration").filter(|d| !d.is_zero()) {
            c.duration = d;
        }
        if let Some(d) = dur("lockout_counter_reset").filter(|d| !d.is_zero()) {
            c.counter_reset = d;
        }
        if let Some(v) = options.get("disable_lockout") {
            match v.trim() {
                "true" | "1" | "t" | "T" | "TRUE" | "True" => c.disabled = true,
                "false" | "0" | "f" | "F" | "FALSE" | "False" | "" => {}
                _ => tracing::warn!(
                    option = "disable_lockout",
                    "ignoring an unparsable lockout mount option"
                ),
            }
        }
        c
    }

    fn apply(mut self, s: &StoredConfig) -> Self {
        if let Some(n) = s.lockout_threshold {
            self.threshold = n;
        }
        if let Some(d) = s.lockout_duration {
            self.duration = Duration::from_secs(d);
        }
        if let Some(d) = s.lockout_counter_reset {
            self.counter_reset = Duration::from_secs(d);
        }
        if let Some(b) = s.disable_lockout {
            self.disabled = b;
        }
        self
    }

    /// The mount's effective configuration: `base` (defaults and mount options) with the
    /// overrides stored through `config/lockout`.
    pub async fn load(storage: &dyn Storage, base: LockoutConfig) -> LogicalResult<Self> {
        Ok(base.apply(&stored_config(storage).await?))
    }

    /// As `config/lockout` shows it (durations in seconds).
    pub fn to_data(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("lockout_threshold".into(), self.threshold.into());
        m.insert("lockout_duration".into(), self.duration.as_secs().into());
        m.insert(
            "lockout_counter_reset".into(),
            self.counter_reset.as_secs().into(),
        );
        m.insert("disable_lockout".into(), self.disabled.into());
        m
    }
}

async fn stored_config(storage: &dyn Storage) -> LogicalResult<StoredConfig> {
    match storage.get(CONFIG_KEY).await? {
        Some(raw) => Ok(serde_json::from_slice(&raw).map_err(|_| AuthCommonError::CorruptLockout)?),
        None => Ok(StoredConfig::default()),
    }
}

/// `GET config/lockout`: the effective configuration.
pub async fn read_config(storage: &dyn Storage, base: LockoutConfig) -> LogicalResult<Response> {
    let c = LockoutConfig::load(storage, base).await?;
    Ok(Response::with_data(c.to_data()))
}

/// `POST config/lockout` with `lockout_threshold`, `lockout_duration`,
/// `lockout_counter_reset`, `disable_lockout`: stores overrides (`0` removes one).
pub async fn write_config(storage: &dyn Storage, f: &FieldData<'_>) -> LogicalResult<()> {
    let mut s = stored_config(storage).await?;
    if let Some(n) = f.u64("lockout_threshold")? {
        s.lockout_threshold = (n > 0).then_some(n);
    }
    if let Some(d) = f.duration("lockout_duration")? {
        s.lockout_duration = (!d.is_zero()).then_some(d.as_secs().max(1));
    }
    if let Some(d) = f.duration("lockout_counter_reset")? {
        s.lockout_counter_reset = (!d.is_zero()).then_some(d.as_secs().max(1));
    }
    if let Some(b) = f.bool("disable_lockout")? {
        s.disable_lockout = Some(b);
    }
    let raw = serde_json::to_vec(&s).map_err(|_| AuthCommonError::Encode)?;
    storage.put(CONFIG_KEY, &raw).await?;
    Ok(())
}

/// One name's failures.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    /// Failures counted since the last reset.
    count: u64,
    /// Last failure, Unix nanoseconds.
    last_failed: i64,
}

impl Record {
    fn locked(&self, c: &LockoutConfig, now: i64) -> bool {
        !c.disabled
            && c.threshold > 0
            && self.count >= c.threshold
            && now.saturating_sub(self.last_failed) < nanos(c.duration)
    }

    fn lock_expires(&self, c: &LockoutConfig) -> i64 {
        self.last_failed.saturating_add(nanos(c.duration))
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn record_key(name: &str) -> String {
    format!("{RECORD_PREFIX}{name}")
}

async fn read_record(storage: &dyn Storage, name: &str) -> LogicalResult<Option<Record>> {
    match storage.get(&record_key(name)).await? {
        Some(raw) => Ok(Some(
            serde_json::from_slice(&raw).map_err(|_| AuthCommonError::CorruptLockout)?,
        )),
        None => Ok(None),
    }
}

/// The lockout of one mount: its base configuration and the per-name locks that
/// serialise attempts.
#[derive(Debug, Default)]
pub struct Lockout {
    base: LockoutConfig,
    locks: KeyedLocks,
}

/// One login attempt under a name, holding that name's lock until it is settled with
/// [`Attempt::failed`] or [`Attempt::succeeded`] (or dropped, which records nothing).
#[must_use = "an attempt must be settled as failed or succeeded"]
pub struct Attempt<'a> {
    _guard: MutexGuard<'a, ()>,
    name: String,
    config: LockoutConfig,
    record: Option<Record>,
    locked: bool,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

impl Lockout {
    /// A lockout with `base` as its configuration before stored overrides.
    pub fn new(base: LockoutConfig) -> Self {
        Self {
            base,
            locks: KeyedLocks::default(),
        }
    }

    /// The configuration before stored overrides (defaults and mount options).
    pub fn base(&self) -> LockoutConfig {
        self.base
    }

    /// Starts an attempt for the normalised `name`: waits for the name's lock, loads the
    /// configuration and record, and tells whether the name is locked now.
    pub async fn begin(
        &self,
        storage: &dyn Storage,
        name: &str,
        now: SystemTime,
    ) -> LogicalResult<Attempt<'_>> {
        let guard = self.locks.lock(name).await;
        let config = LockoutConfig::load(storage, self.base).await?;
        let record = if config.disabled {
            None
        } else {
            read_record(storage, name).await?
        };
        let locked = record.is_some_and(|r| r.locked(&config, unix_nanos(now)));
        Ok(Attempt {
            _guard: guard,
            name: name.to_owned(),
            config,
            record,
            locked,
        })
    }
}

impl Attempt<'_> {
    /// Whether the name is locked: the login must fail whatever the credentials.
    pub fn locked(&self) -> bool {
        self.locked
    }

    /// Records a failed login (wrong password or secret) of an existing name.
    pub async fn failed(self, storage: &dyn Storage, now: SystemTime) -> LogicalResult<()> {
        if self.config.disabled {
            return Ok(());
        }
        let now = unix_nanos(now);
        let count = match self.record {
            Some(r)
                if now
                    <= r.last_failed
                        .saturating_add(nanos(self.config.counter_reset)) =>
            {
                r.count.saturating_add(1)
            }
            _ => 1,
        };
        let rec = Record {
            count,
            last_failed: now,
        };
        let raw = serde_json::to_vec(&rec).map_err(|_| AuthCommonError::Encode)?;
        storage.put(&record_key(&self.name), &raw).await?;
        if rec.locked(&self.config, now) && !self.locked {
            tracing::warn!(
                failures = count,
                "login name locked after repeated failures"
            );
        }
        Ok(())
    }

    /// Records a successful login: the name's failures are forgotten.
    pub async fn succeeded(self, storage: &dyn Storage) -> LogicalResult<()> {
        if self.record.is_some() {
            storage.delete(&record_key(&self.name)).await?;
        }
        Ok(())
    }
}

/// A locked name, as [`list_locked`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedName {
    /// The normalised name (a username, a role name).
    pub name: String,
    /// Failures counted.
    pub failed_login_attempts: u64,
    /// Last failure, Unix nanoseconds.
    pub last_failed_login: i64,
    /// When the lock ends by itself, Unix nanoseconds.
    pub lockout_expires: i64,
}

/// The names of a mount that are locked at `now`. `storage` is the mount's storage view;
/// `base` its configuration before stored overrides (see [`LockoutConfig::from_options`]).
pub async fn list_locked(
    storage: &dyn Storage,
    base: LockoutConfig,
    now: SystemTime,
) -> LogicalResult<Vec<LockedName>> {
    let config = LockoutConfig::load(storage, base).await?;
    let now = unix_nanos(now);
    let mut out = Vec::new();
    for name in storage.list(RECORD_PREFIX).await? {
        if name.ends_with('/') {
            continue;
        }
        if let Some(r) = read_record(storage, &name).await?
            && r.locked(&config, now)
        {
            out.push(LockedName {
                failed_login_attempts: r.count,
                last_failed_login: r.last_failed,
                lockout_expires: r.lock_expires(&config),
                name,
            });
        }
    }
    Ok(out)
}

/// The `locked-users` answer: `keys` (names) and `key_info` (counts and times); `None`
/// when nobody is locked.
pub fn locked_response(locked: &[LockedName]) -> Option<Response> {
    if locked.is_empty() {
        return None;
    }
    let keys: Vec<Value> = locked.iter().map(|l| l.name.clone().into()).collect();
    let info: Map<String, Value> = locked
        .iter()
        .map(|l| {
            (
                l.name.clone(),
                json!({
                    "failed_login_attempts": l.failed_login_attempts,
                    "last_failed_login_time": format_rfc3339_nanos(l.last_failed_login),
                    "lockout_expires": format_rfc3339_nanos(l.lockout_expires),
                }),
            )
        })
        .collect();
    let mut data = Map::new();
    data.insert("keys".into(), Value::Array(keys));
    data.insert("key_info".into(), Value::Object(info));
    Some(Response::with_data(data))
}

/// Unlocks a normalised name by forgetting its failures; `true` if it had a record.
pub async fn unlock(storage: &dyn Storage, name: &str) -> LogicalResult<bool> {
    let key = record_key(name);
    let had = storage.get(&key).await?.is_some();
    if had {
        storage.delete(&key).await?;
    }
    Ok(had)
}

/// The lockout endpoints a method serves beside its own, relative to the mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRoute {
    /// `config/lockout`: read or update the mount's overrides.
    Config,
    /// `locked-users`: read or list the locked names.
    Locked,
    /// `locked-users/<name>/unlock`: forget a name's failures.
    Unlock,
}

/// The path patterns of [`AdminRoute`]; `<name>` is captured as `name`.
pub const ADMIN_PATHS: [(&str, AdminRoute); 3] = [
    ("config/lockout", AdminRoute::Config),
    ("locked-users/?", AdminRoute::Locked),
    ("locked-users/(?P<name>[^/]+)/unlock", AdminRoute::Unlock),
];

/// Serves one of the [`AdminRoute`] endpoints. `name` yields the normalised name of an
/// unlock (each method validates its names its own way); it is only called for one.
pub async fn handle_admin(
    lockout: &Lockout,
    storage: &dyn Storage,
    now: SystemTime,
    route: AdminRoute,
    req: &Request,
    name: impl FnOnce() -> LogicalResult<String>,
) -> LogicalResult<Option<Response>> {
    let write = matches!(req.operation, Operation::Create | Operation::Update);
    match (route, req.operation) {
        (AdminRoute::Config, Operation::Read) => {
            read_config(storage, lockout.base()).await.map(Some)
        }
        (AdminRoute::Config, _) if write => {
            let f = req.fields();
            write_config(storage, &f).await?;
            Ok(crate::warnings_only(f.warnings()))
        }
        (AdminRoute::Locked, Operation::Read | Operation::List) => {
            let locked = list_locked(storage, lockout.base(), now).await?;
            Ok(locked_response(&locked))
        }
        (AdminRoute::Unlock, _) if write => {
            unlock(storage, &name()?).await?;
            Ok(None)
        }
        _ => Err(LogicalError::unsupported_operation()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arca_storage::InMemStorage;

    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    async fn fail(l: &Lockout, s: &dyn Storage, at: u64) -> bool {
        let a = l.begin(s, "alice", t(at)).await.unwrap();
        let locked = a.locked();
        a.failed(s, t(at)).await.unwrap();
        locked
    }

    #[tokio::test]
    async fn threshold_duration_and_reset() {
        let s: Arc<dyn Storage> = Arc::new(InMemStorage::new());
        let l = Lockout::new(LockoutConfig::default());
        for i in 0..5 {
            assert!(!fail(&l, s.as_ref(), i).await);
        }
        // Five failures: locked for 15 minutes after the last one.
        assert!(l.begin(s.as_ref(), "alice", t(10)).await.unwrap().locked());
        let listed = list_locked(s.as_ref(), l.base(), t(10)).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].failed_login_attempts, 5);
        assert!(
            l.begin(s.as_ref(), "alice", t(4 + 899))
                .await
                .unwrap()
                .locked()
        );
        assert!(
            !l.begin(s.as_ref(), "alice", t(4 + 900))
                .await
                .unwrap()
                .locked()
        );
        assert!(
            list_locked(s.as_ref(), l.base(), t(4 + 900))
                .await
                .unwrap()
                .is_empty()
        );

        // Failures further apart than the reset window never add up.
        let s2: Arc<dyn Storage> = Arc::new(InMemStorage::new());
        for i in 0..10 {
            assert!(!fail(&l, s2.as_ref(), i * 901).await);
        }

        // Success forgets the failures.
        let s3: Arc<dyn Storage> = Arc::new(InMemStorage::new());
        for i in 0..4 {
            fail(&l, s3.as_ref(), i).await;
        }
        l.begin(s3.as_ref(), "alice", t(5))
            .await
            .unwrap()
            .succeeded(s3.as_ref())
            .await
            .unwrap();
        assert!(!fail(&l, s3.as_ref(), 6).await);
        assert!(!l.begin(s3.as_ref(), "alice", t(7)).await.unwrap().locked());
    }

    #[tokio::test]
    async fn config_overrides_and_unlock() {
        let s: Arc<dyn Storage> = Arc::new(InMemStorage::new());
        let opts = BTreeMap::from([
            ("lockout_threshold".to_owned(), "2".to_owned()),
            ("lockout_duration".to_owned(), "1m".to_owned()),
        ]);
        let base = LockoutConfig::from_options(&opts);
        assert_eq!(base.threshold, 2);
        assert_eq!(base.duration, Duration::from_secs(60));
        let l = Lockout::new(base);
        fail(&l, s.as_ref(), 0).await;
        fail(&l, s.as_ref(), 1).await;
        assert!(l.begin(s.as_ref(), "alice", t(2)).await.unwrap().locked());
        assert!(unlock(s.as_ref(), "alice").await.unwrap());
        assert!(!unlock(s.as_ref(), "alice").await.unwrap());
        assert!(!l.begin(s.as_ref(), "alice", t(2)).await.unwrap().locked());

        let body = serde_json::json!({"disable_lockout": true, "lockout_threshold": 0});
        let m = body.as_object().unwrap().clone();
        write_config(s.as_ref(), &FieldData::new(&m)).await.unwrap();
        let c = LockoutConfig::load(s.as_ref(), base).await.unwrap();
        assert!(c.disabled);
        assert_eq!(c.threshold, 2, "0 removes the override");
        for i in 0..5 {
            assert!(!fail(&l, s.as_ref(), 10 + i).await);
        }
        assert!(s.get("lockout/alice").await.unwrap().is_none());
    }
}
