//! Static roles: accounts that exist in the database and whose passwords Arca rotates, on
//! a period or a cron schedule, manually, and for phased roles alternately between two
//! accounts (docs/phased-rotation.md).
//!
//! Every rotation is journalled: a `static-wal/<name>` record with the target account and
//! the new password is written before the database is changed, and removed in the same
//! storage transaction that records the result. A rotation interrupted by a crash is
//! finished with the journalled password (so the password Arca hands out is always the one
//! the database has), and a schedule point recorded in the journal is never rotated again.

use arca_logical::{LogicalError, LogicalResult, Request, Response};
use arca_storage::TxnOp;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use zeroize::Zeroizing;

use crate::backend::{DatabaseBackend, db_err, rfc3339, role_allowed, unix_secs};
use crate::cron::Schedule;
use crate::model::{self, Reason, RotationWal, Secret, StaticRole};

/// Vault's minimum `rotation_period`.
const MIN_PERIOD: u64 = 5;
/// Vault's minimum `rotation_window`.
const MIN_WINDOW: u64 = 3600;
/// First retry delay after a failed rotation; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: i64 = 10;
const MAX_BACKOFF: i64 = 300;

fn ts(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

impl StaticRole {
    fn schedule(&self) -> LogicalResult<Option<Schedule>> {
        if self.rotation_schedule.is_empty() {
            return Ok(None);
        }
        Schedule::parse(&self.rotation_schedule)
            .map(Some)
            .map_err(|e| LogicalError::invalid(e.to_string()))
    }

    /// The next rotation after a rotation (or creation) at `now` that was not for a
    /// schedule point.
    fn next_after(&self, now: i64) -> LogicalResult<i64> {
        match self.schedule()? {
            Some(s) => Ok(s
                .next_after(ts(now))
                .map_or(i64::MAX, |t| t.unix_timestamp())),
            None => Ok(now.saturating_add(i64::try_from(self.rotation_period).unwrap_or(i64::MAX))),
        }
    }

    /// When the role next needs the task: its rotation, or the end of a grace period.
    fn attention(&self) -> i64 {
        match self.previous_valid_until {
            Some(t) => t.min(self.next_rotation),
            None => self.next_rotation,
        }
    }
}

impl DatabaseBackend {
    pub(crate) async fn static_role(&self, name: &str) -> LogicalResult<Option<StaticRole>> {
        model::get_json(
            self.storage.as_ref(),
            &format!("{}{name}", model::STATIC_ROLE),
        )
        .await
    }

    fn role_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.role_locks.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        Arc::clone(locks.entry(name.to_owned()).or_default())
    }

    fn set_due(&self, name: &str, at: Option<(i64, u32)>) {
        let mut due = match self.due.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match at {
            Some(v) => {
                due.insert(name.to_owned(), v);
            }
            None => {
                due.remove(name);
            }
        }
    }

    /// Reads every static role's next deadline (at `initialize`).
    pub(crate) async fn load_due(&self) -> LogicalResult<()> {
        let names = self.storage.list(model::STATIC_ROLE).await?;
        let wals = self.storage.list(model::STATIC_WAL).await?;
        for name in names {
            if let Some(role) = self.static_role(&name).await? {
                // A journalled rotation is finished at the first tick.
                let at = if wals.contains(&name) {
                    0
                } else {
                    role.attention()
                };
                self.set_due(&name, Some((at, 0)));
            }
        }
        Ok(())
    }

    async fn save_static(
        &self,
        name: &str,
        role: &StaticRole,
        delete_wal: bool,
    ) -> LogicalResult<()> {
        let bytes = Zeroizing::new(model::to_json(role)?);
        let mut ops = vec![TxnOp::Put {
            key: format!("{}{name}", model::STATIC_ROLE),
            value: bytes.to_vec(),
        }];
        if delete_wal {
            ops.push(TxnOp::Delete {
                key: format!("{}{name}", model::STATIC_WAL),
            });
        }
        self.storage.transaction(ops).await?;
        self.set_due(name, Some((role.attention(), 0)));
        Ok(())
    }

    // ---- static-roles/<name> -----------------------------------------------------------

    pub(crate) async fn static_role_write(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        if self.role(name).await?.is_some() {
            return Err(LogicalError::invalid(
                "Role and Static Role names must be unique",
            ));
        }
        let lock = self.role_lock(name);
        let _guard = lock.lock().await;
        let f = req.fields();
        let existing = self.static_role(name).await?;
        let create = existing.is_none();
        let mut role = existing.unwrap_or_else(|| StaticRole {
            credential_type: model::password_type(),
            ..StaticRole::default()
        });
        if let Some(d) = f.string("db_name")? {
            role.db_name = d;
        }
        if role.db_name.is_empty() {
            return Err(LogicalError::invalid("database name is a required field"));
        }
        let username = f.string("username")?.unwrap_or_default();
        if create {
            if username.is_empty() {
                return Err(LogicalError::invalid(
                    "username is a required field to create a static account",
                ));
            }
            role.username = username;
        } else if !username.is_empty() && username != role.username {
            return Err(LogicalError::invalid(
                "cannot update static account username",
            ));
        }
        let username_b = f.string("username_b")?.unwrap_or_default();
        if create {
            if username_b == role.username {
                return Err(LogicalError::invalid(
                    "username_b must name a different account than username",
                ));
            }
            role.username_b = username_b;
        } else if !username_b.is_empty() && username_b != role.username_b {
            return Err(LogicalError::invalid(
                "cannot update static account username_b",
            ));
        }
        if let Some(t) = f.string("credential_type")? {
            if t != "password" {
                return Err(LogicalError::invalid(
                    "unsupported credential_type: only \"password\" is available",
                ));
            }
            role.credential_type = t;
        }
        if let Some(Value::Object(m)) = f.raw("credential_config") {
            role.credential_config = m.clone();
        }
        if let Some(s) = f.string_list("rotation_statements")? {
            role.rotation_statements = s;
        }

        // Period or schedule, exactly one.
        let period = f.duration("rotation_period")?;
        let schedule = f.string("rotation_schedule")?;
        let window = f.duration("rotation_window")?;
        if period.is_some() && schedule.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(LogicalError::invalid(
                "mutually exclusive fields rotation_period and rotation_schedule were both specified; only one of them can be provided",
            ));
        }
        let timing_changed = period.is_some() || schedule.is_some();
        if let Some(p) = period {
            if p.as_secs() < MIN_PERIOD {
                return Err(LogicalError::invalid(format!(
                    "rotation_period must be {MIN_PERIOD} seconds or more"
                )));
            }
            role.rotation_period = p.as_secs();
            role.rotation_schedule.clear();
            role.rotation_window = 0;
        }
        if let Some(s) = schedule.filter(|s| !s.is_empty()) {
            Schedule::parse(&s).map_err(|e| LogicalError::invalid(e.to_string()))?;
            role.rotation_schedule = s;
            role.rotation_period = 0;
        }
        if role.rotation_period == 0 && role.rotation_schedule.is_empty() {
            return Err(LogicalError::invalid(
                "rotation_period or rotation_schedule is required to create static accounts",
            ));
        }
        if let Some(w) = window {
            if role.rotation_schedule.is_empty() {
                return Err(LogicalError::invalid(
                    "rotation_window is invalid with use of rotation_period",
                ));
            }
            if w.as_secs() < MIN_WINDOW {
                return Err(LogicalError::invalid(
                    "rotation_window is required to be a minimum of 3600 seconds",
                ));
            }
            role.rotation_window = w.as_secs();
        }
        if let Some(g) = f.duration("grace_period")? {
            role.grace_period = g.as_secs();
        }
        if role.phased() {
            if role.grace_period == 0 {
                return Err(LogicalError::invalid(
                    "grace_period is required for a phased static role (username_b)",
                ));
            }
            if role.rotation_period > 0 && role.grace_period >= role.rotation_period {
                return Err(LogicalError::invalid(
                    "grace_period must be shorter than rotation_period",
                ));
            }
            if let Some(s) = role.schedule()? {
                // The shortest gap between two points over the next few firings.
                let mut t = ts(unix_secs(self.now()));
                let mut gap = i64::MAX;
                let mut prev: Option<time::OffsetDateTime> = None;
                for _ in 0..16 {
                    let Some(n) = s.next_after(t) else { break };
                    if let Some(p) = prev {
                        gap = gap.min((n - p).whole_seconds());
                    }
                    prev = Some(n);
                    t = n;
                }
                if i64::try_from(role.grace_period).unwrap_or(i64::MAX) >= gap {
                    return Err(LogicalError::invalid(
                        "grace_period must be shorter than the interval between rotation_schedule points",
                    ));
                }
            }
        } else if role.grace_period > 0 && f.contains("grace_period") {
            return Err(LogicalError::invalid(
                "grace_period applies only to phased static roles (username_b)",
            ));
        }
        f.mark_used(&["name"]);
        let warnings = f.warnings();

        // The connection must exist before an account is taken over.
        self.connection(&role.db_name).await?;
        if create {
            // Arca takes the account over: its first password is set now, and the second
            // account of a phased role gets a password nobody knows.
            let now = unix_secs(self.now());
            role.next_rotation = role.next_after(now)?;
            self.rotate_locked(name, role.clone(), Reason::Create, None)
                .await?;
            if role.phased() {
                let mut saved = self
                    .static_role(name)
                    .await?
                    .ok_or_else(LogicalError::internal)?;
                let other = saved.other_account().to_owned();
                self.scramble(&saved, &other).await?;
                saved.previous_valid_until = None;
                self.save_static(name, &saved, false).await?;
            }
        } else {
            if timing_changed {
                let base = role.last_vault_rotation.map_or(unix_secs(self.now()), |n| {
                    i64::try_from(n / 1_000_000_000).unwrap_or(0)
                });
                role.next_rotation = role.next_after(base)?;
            }
            self.save_static(name, &role, false).await?;
        }
        Ok((!warnings.is_empty()).then(|| Response {
            warnings,
            ..Response::default()
        }))
    }

    pub(crate) async fn static_role_read(&self, name: &str) -> LogicalResult<Option<Response>> {
        let Some(role) = self.static_role(name).await? else {
            return Ok(None);
        };
        let mut m = Map::new();
        m.insert("db_name".into(), json!(role.db_name));
        m.insert("username".into(), json!(role.username));
        m.insert(
            "rotation_statements".into(),
            json!(role.rotation_statements),
        );
        m.insert("credential_type".into(), json!(role.credential_type));
        self.timing_fields(&role, &mut m);
        if let Some(n) = role.last_vault_rotation {
            m.insert("last_vault_rotation".into(), json!(nanos_rfc3339(n)));
        }
        if role.phased() {
            m.insert("username_b".into(), json!(role.username_b));
            m.insert("grace_period".into(), json!(role.grace_period));
        }
        if !role.credential_config.is_empty() {
            m.insert(
                "credential_config".into(),
                Value::Object(role.credential_config.clone()),
            );
        }
        Ok(Some(Response::with_data(m)))
    }

    fn timing_fields(&self, role: &StaticRole, m: &mut Map<String, Value>) {
        if role.rotation_schedule.is_empty() {
            m.insert("rotation_period".into(), json!(role.rotation_period));
        } else {
            m.insert("rotation_schedule".into(), json!(role.rotation_schedule));
            if role.rotation_window > 0 {
                m.insert("rotation_window".into(), json!(role.rotation_window));
            }
        }
    }

    pub(crate) async fn static_role_delete(&self, name: &str) -> LogicalResult<Option<Response>> {
        let lock = self.role_lock(name);
        let _guard = lock.lock().await;
        self.storage
            .transaction(vec![
                TxnOp::Delete {
                    key: format!("{}{name}", model::STATIC_ROLE),
                },
                TxnOp::Delete {
                    key: format!("{}{name}", model::STATIC_WAL),
                },
            ])
            .await?;
        self.set_due(name, None);
        Ok(None)
    }

    pub(crate) async fn static_creds(&self, name: &str) -> LogicalResult<Option<Response>> {
        let role = self
            .static_role(name)
            .await?
            .ok_or_else(|| LogicalError::invalid("unknown role"))?;
        let config = self.config(&role.db_name).await?.ok_or_else(|| {
            LogicalError::invalid("unable to find the database connection configuration")
        })?;
        if !role_allowed(&config.allowed_roles, name) {
            return Err(LogicalError::invalid(
                "the role is not an allowed role of its database connection",
            ));
        }
        let now = unix_secs(self.now());
        let mut m = Map::new();
        m.insert("username".into(), json!(role.current_account()));
        m.insert("password".into(), json!(role.password.expose()));
        m.insert(
            "ttl".into(),
            json!(role.next_rotation.saturating_sub(now).max(0)),
        );
        self.timing_fields(&role, &mut m);
        m.insert(
            "last_vault_rotation".into(),
            json!(
                role.last_vault_rotation
                    .map(nanos_rfc3339)
                    .unwrap_or_default()
            ),
        );
        if role.phased() {
            m.insert("grace_period".into(), json!(role.grace_period));
            match role.previous_valid_until.filter(|t| *t > now) {
                Some(t) => {
                    m.insert("previous_username".into(), json!(role.other_account()));
                    m.insert("previous_valid_until".into(), json!(rfc3339(ts(t))));
                }
                None => {
                    m.insert("previous_username".into(), Value::Null);
                    m.insert("previous_valid_until".into(), Value::Null);
                }
            }
        }
        Ok(Some(Response::with_data(m)))
    }

    pub(crate) async fn rotate_role_now(&self, name: &str) -> LogicalResult<Option<Response>> {
        let lock = self.role_lock(name);
        let _guard = lock.lock().await;
        let role = self
            .static_role(name)
            .await?
            .ok_or_else(|| LogicalError::invalid("no static role found for role name"))?;
        self.rotate_locked(name, role, Reason::Manual, None).await?;
        Ok(None)
    }

    // ---- rotation ----------------------------------------------------------------------

    /// Sets `account`'s password to a random one nobody keeps.
    async fn scramble(&self, role: &StaticRole, account: &str) -> LogicalResult<()> {
        let (config, db) = self.connection(&role.db_name).await?;
        let password = self
            .generate_password(&policy_of(role, &config.password_policy))
            .await?;
        db.set_password(&role.rotation_statements, account, &password)
            .await
            .map_err(db_err)
    }

    /// Rotates one role; the caller holds the role's lock. A journalled rotation is
    /// finished first, with its own password, reason and schedule point.
    async fn rotate_locked(
        &self,
        name: &str,
        mut role: StaticRole,
        reason: Reason,
        point: Option<i64>,
    ) -> LogicalResult<()> {
        let wal_key = format!("{}{name}", model::STATIC_WAL);
        let (config, db) = self.connection(&role.db_name).await?;
        let wal = match model::get_json::<RotationWal>(self.storage.as_ref(), &wal_key).await? {
            Some(w) => w,
            None => {
                let account = if role.phased() && reason != Reason::Create {
                    role.other_account().to_owned()
                } else {
                    role.current_account().to_owned()
                };
                let password = self
                    .generate_password(&policy_of(&role, &config.password_policy))
                    .await?;
                let w = RotationWal {
                    account,
                    password: Secret::new(password),
                    reason,
                    schedule_point: point,
                };
                model::put_json(self.storage.as_ref(), &wal_key, &w).await?;
                w
            }
        };
        // The journal stays when this fails: the next attempt sets the same password.
        db.set_password(
            &role.rotation_statements,
            &wal.account,
            wal.password.expose(),
        )
        .await
        .map_err(db_err)?;

        let now = unix_secs(self.now());
        if role.phased() && wal.account != role.current_account() {
            role.active_b = !role.active_b;
            role.previous_valid_until =
                Some(now.saturating_add(i64::try_from(role.grace_period).unwrap_or(i64::MAX)));
        }
        role.password = wal.password.clone();
        role.last_vault_rotation = Some(
            self.now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i128::try_from(d.as_nanos()).unwrap_or(0))
                .unwrap_or(0),
        );
        role.next_rotation = match (wal.reason, wal.schedule_point, role.schedule()?) {
            (Reason::Schedule, Some(p), Some(s)) => {
                role.last_schedule_point = Some(p);
                s.next_after(ts(p.max(now)))
                    .map_or(i64::MAX, |t| t.unix_timestamp())
            }
            // A manual rotation on a schedule keeps the next schedule point.
            (Reason::Manual, _, Some(_)) if role.next_rotation > now => role.next_rotation,
            _ => role.next_after(now)?,
        };
        self.save_static(name, &role, true).await
    }

    /// Runs every rotation and grace-period expiry that is due by the system clock; returns
    /// how many roles were acted on. The background task calls this every tick; tests
    /// call it with a manual clock.
    pub async fn run_due(&self) -> usize {
        let now = unix_secs(self.now());
        let due: Vec<(String, u32)> = {
            let d = match self.due.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            d.iter()
                .filter(|(_, (at, _))| *at <= now)
                .map(|(n, (_, fails))| (n.clone(), *fails))
                .collect()
        };
        let mut acted = 0;
        for (name, fails) in due {
            match self.tick_role(&name).await {
                Ok(true) => acted += 1,
                Ok(false) => {}
                Err(e) => {
                    let backoff = (FIRST_BACKOFF << fails.min(8)).min(MAX_BACKOFF);
                    tracing::warn!(role = %name, error = %e, retry_in_secs = backoff, "static role rotation failed");
                    self.set_due(&name, Some((now + backoff, fails.saturating_add(1))));
                }
            }
        }
        acted
    }

    /// Decides, under the role's lock and from its stored state, what is due now.
    async fn tick_role(&self, name: &str) -> LogicalResult<bool> {
        let lock = self.role_lock(name);
        let _guard = lock.lock().await;
        let Some(mut role) = self.static_role(name).await? else {
            self.set_due(name, None);
            return Ok(false);
        };
        let now = unix_secs(self.now());
        let wal_key = format!("{}{name}", model::STATIC_WAL);
        if let Some(wal) = model::get_json::<RotationWal>(self.storage.as_ref(), &wal_key).await? {
            self.rotate_locked(name, role, wal.reason, wal.schedule_point)
                .await?;
            return Ok(true);
        }
        let mut acted = false;
        if role.phased()
            && let Some(until) = role.previous_valid_until
            && until <= now
        {
            // The grace period is over: the previous account's password becomes unknown.
            let other = role.other_account().to_owned();
            self.scramble(&role, &other).await?;
            role.previous_valid_until = None;
            self.save_static(name, &role, false).await?;
            acted = true;
        }
        if role.next_rotation <= now {
            match role.schedule()? {
                Some(s) => {
                    let point = role.next_rotation;
                    let missed_window = role.rotation_window > 0
                        && now
                            > point.saturating_add(
                                i64::try_from(role.rotation_window).unwrap_or(i64::MAX),
                            );
                    if role.last_schedule_point.is_some_and(|p| p >= point) || missed_window {
                        // Already rotated for this point, or its window has passed: wait for
                        // the next point.
                        if missed_window {
                            tracing::warn!(role = %name, "a scheduled rotation missed its rotation_window; waiting for the next point");
                        }
                        role.next_rotation = s
                            .next_after(ts(now))
                            .map_or(i64::MAX, |t| t.unix_timestamp());
                        self.save_static(name, &role, false).await?;
                    } else {
                        self.rotate_locked(name, role, Reason::Schedule, Some(point))
                            .await?;
                        acted = true;
                    }
                }
                None => {
                    self.rotate_locked(name, role, Reason::Period, None).await?;
                    acted = true;
                }
            }
        } else {
            self.set_due(name, Some((role.attention(), 0)));
        }
        Ok(acted)
    }
}

fn policy_of(role: &StaticRole, config_policy: &str) -> String {
    role.credential_config
        .get("password_policy")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .unwrap_or(config_policy)
        .to_owned()
}

fn nanos_rfc3339(n: i128) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(n)
        .map(rfc3339)
        .unwrap_or_default()
}
