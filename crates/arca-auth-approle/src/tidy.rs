//! `tidy/secret-id`: removes expired secret IDs, secret IDs whose accessor is gone, and
//! accessors whose secret ID is gone. Runs in the background; one at a time per mount.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arca_logical::{LogicalResult, Response, SystemView};
use arca_storage::{Storage, TxnOp};

use crate::Approle;
use crate::store::{
    ACCESSOR_PREFIX, AccessorEntry, SECRET_PREFIX, SecretIdEntry, accessor_key, get, load_salt,
};

/// What one tidy pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TidyReport {
    /// Secret IDs examined.
    pub checked: u64,
    /// Expired secret IDs removed (with their accessors).
    pub expired: u64,
    /// Secret IDs without an accessor, and accessors without a secret ID, removed.
    pub dangling: u64,
}

/// One tidy pass over a mount's storage view at time `now`. Every removal of a secret ID
/// deletes its accessor in the same transaction.
pub async fn tidy_secret_ids(
    storage: &dyn Storage,
    system: &dyn SystemView,
) -> LogicalResult<TidyReport> {
    let salt = load_salt(storage).await?;
    let now = arca_auth_common::unix_nanos(system.now());
    let mut report = TidyReport::default();
    let mut live = BTreeSet::new();
    for role_dir in storage.list(SECRET_PREFIX).await? {
        if !role_dir.ends_with('/') {
            continue;
        }
        let folder = format!("{SECRET_PREFIX}{role_dir}");
        for h in storage.list(&folder).await? {
            if h.ends_with('/') {
                continue;
            }
            let key = format!("{folder}{h}");
            let Some(entry) = get::<SecretIdEntry>(storage, &key).await? else {
                continue;
            };
            report.checked += 1;
            let acc = accessor_key(&salt, &entry.secret_id_accessor);
            if entry.expired(now) {
                storage
                    .transaction(vec![TxnOp::Delete { key }, TxnOp::Delete { key: acc }])
                    .await?;
                report.expired += 1;
            } else if storage.get(&acc).await?.is_none() {
                storage.delete(&key).await?;
                report.dangling += 1;
            } else {
                live.insert(acc);
            }
        }
    }
    for a in storage.list(ACCESSOR_PREFIX).await? {
        let key = format!("{ACCESSOR_PREFIX}{a}");
        if a.ends_with('/') || live.contains(&key) {
            continue;
        }
        // Re-check the target: a secret ID may have been created since the listing.
        if let Some(idx) = get::<AccessorEntry>(storage, &key).await? {
            let target = format!("{SECRET_PREFIX}{}/{}", idx.role_hmac, idx.secret_id_hmac);
            if storage.get(&target).await?.is_some() {
                continue;
            }
        }
        storage.delete(&key).await?;
        report.dangling += 1;
    }
    Ok(report)
}

impl Approle {
    /// Starts a tidy pass in the background, unless one is running.
    pub(crate) fn start_tidy(&self) -> Response {
        let warning = if self.tidy_running.swap(true, Ordering::SeqCst) {
            "Tidy operation already in progress."
        } else {
            let storage: Arc<dyn Storage> = Arc::clone(&self.storage);
            let system: Arc<dyn SystemView> = Arc::clone(&self.system);
            let running = Arc::clone(&self.tidy_running);
            let handle = tokio::spawn(async move {
                match tidy_secret_ids(storage.as_ref(), system.as_ref()).await {
                    Ok(r) => tracing::info!(
                        checked = r.checked,
                        expired = r.expired,
                        dangling = r.dangling,
                        "approle secret ID tidy finished"
                    ),
                    Err(e) => tracing::error!(error = %e, "approle secret ID tidy failed"),
                }
                running.store(false, Ordering::SeqCst);
            });
            match self.tidy_task.lock() {
                Ok(mut slot) => *slot = Some(handle),
                Err(p) => *p.into_inner() = Some(handle),
            }
            "Tidy operation successfully started. Any information from the operation will be printed to the server logs."
        };
        Response {
            warnings: vec![warning.to_owned()],
            ..Response::default()
        }
    }
}
