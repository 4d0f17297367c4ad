//! The policy store: ACL policies behind the barrier, parsed once, compiled into ACLs
//! that are cached per policy set.
//!
//! Names are normalised once, here (`arca_acl::normalize_policy_name`), so `Admin`,
//! ` admin` and `admin` are the same policy everywhere.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use arca_acl::{Acl, Policy, TemplateContext};
use arca_storage::{Storage, StorageView};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// How a policy is kept in storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredPolicy {
    pub(crate) name: String,
    /// The text as written (HCL or JSON).
    pub(crate) policy: String,
    pub(crate) version: u64,
    pub(crate) modified: String,
    #[serde(default)]
    pub(crate) cas_required: bool,
}

/// An upper bound on cached ACLs; the cache is simply cleared when it is reached.
const ACL_CACHE_MAX: usize = 4096;

pub(crate) struct PolicyStore {
    view: StorageView,
    parsed: RwLock<HashMap<String, Arc<Policy>>>,
    acls: RwLock<HashMap<String, Arc<Acl>>>,
}

fn poisoned() -> CoreError {
    CoreError::Corrupt("policy cache lock")
}

/// The policy text as sent: HCL, JSON, or base64 of either.
pub(crate) fn decode_policy_text(text: &str) -> String {
    let trimmed = text.trim();
    if let Ok(bytes) = B64.decode(trimmed)
        && let Ok(decoded) = String::from_utf8(bytes)
    {
        return decoded;
    }
    text.to_owned()
}

impl PolicyStore {
    /// Opens the store; writes the built-in `default` policy on first use.
    pub(crate) async fn open(barrier: Arc<dyn Storage>) -> Result<Self, CoreError> {
        let store = Self {
            view: StorageView::new(barrier, "sys/policy/"),
            parsed: RwLock::new(HashMap::new()),
            acls: RwLock::new(HashMap::new()),
        };
        if store.view.get("default").await?.is_none() {
            store
                .write("default", arca_acl::default_policy_text(), None)
                .await?;
        }
        Ok(store)
    }

    pub(crate) fn normalize(name: &str) -> Result<String, CoreError> {
        arca_acl::normalize_policy_name(name).map_err(|e| CoreError::invalid(e.to_string()))
    }

    /// Reads a stored policy (not `root`, which has no text).
    pub(crate) async fn read(&self, name: &str) -> Result<Option<StoredPolicy>, CoreError> {
        let name = Self::normalize(name)?;
        match self.view.get(&name).await? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|_| CoreError::Corrupt("policy")),
        }
    }

    /// Writes a policy after parsing it; `cas` is the version the writer expects.
    pub(crate) async fn write(
        &self,
        name: &str,
        text: &str,
        cas: Option<u64>,
    ) -> Result<(), CoreError> {
        let name = Self::normalize(name)?;
        if name == arca_acl::ROOT_POLICY {
            return Err(CoreError::invalid("cannot update \"root\" policy"));
        }
        if name == arca_acl::RESPONSE_WRAPPING_POLICY {
            return Err(CoreError::invalid(
                "cannot update \"response-wrapping\" policy",
            ));
        }
        let text = decode_policy_text(text);
        let parsed =
            arca_acl::parse_policy(&name, &text).map_err(|e| CoreError::invalid(e.to_string()))?;
        let current = self.read(&name).await?;
        let version = current.as_ref().map_or(0, |p| p.version);
        if let Some(expected) = cas
            && expected != version
        {
            return Err(CoreError::invalid(format!(
                "check-and-set parameter {expected} did not match the current version {version}"
            )));
        }
        if current.as_ref().is_some_and(|p| p.cas_required) && cas.is_none() {
            return Err(CoreError::invalid(
                "check-and-set parameter required for this call",
            ));
        }
        let stored = StoredPolicy {
            name: name.clone(),
            policy: text,
            version: version + 1,
            modified: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            cas_required: current.is_some_and(|p| p.cas_required),
        };
        let bytes = serde_json::to_vec(&stored).map_err(|_| CoreError::Corrupt("policy"))?;
        self.view.put(&name, &bytes).await?;
        self.parsed
            .write()
            .map_err(|_| poisoned())?
            .insert(name, Arc::new(parsed));
        self.acls.write().map_err(|_| poisoned())?.clear();
        Ok(())
    }

    pub(crate) async fn delete(&self, name: &str) -> Result<(), CoreError> {
        let name = Self::normalize(name)?;
        match name.as_str() {
            "root" => return Err(CoreError::invalid("cannot delete \"root\" policy")),
            "default" => return Err(CoreError::invalid("cannot delete default policy")),
            _ => {}
        }
        self.view.delete(&name).await?;
        self.parsed.write().map_err(|_| poisoned())?.remove(&name);
        self.acls.write().map_err(|_| poisoned())?.clear();
        Ok(())
    }

    /// Every policy name, sorted, `root` last (as Vault lists them).
    pub(crate) async fn list(&self) -> Result<Vec<String>, CoreError> {
        let mut names: Vec<String> = self
            .view
            .list("")
            .await?
            .into_iter()
            .filter(|n| !n.ends_with('/'))
            .collect();
        names.sort();
        names.push("root".to_owned());
        Ok(names)
    }

    async fn parsed(&self, name: &str) -> Result<Option<Arc<Policy>>, CoreError> {
        if let Some(p) = self.parsed.read().map_err(|_| poisoned())?.get(name) {
            return Ok(Some(Arc::clone(p)));
        }
        if name == arca_acl::RESPONSE_WRAPPING_POLICY {
            // Built in and not editable: a wrapping token may only unwrap, look up, rewrap.
            let p = arca_acl::parse_policy(name, arca_acl::response_wrapping_policy_text())
                .map_err(|_| CoreError::Corrupt("response-wrapping policy"))?;
            let p = Arc::new(p);
            self.parsed
                .write()
                .map_err(|_| poisoned())?
                .insert(name.to_owned(), Arc::clone(&p));
            return Ok(Some(p));
        }
        let Some(stored) = self.read(name).await? else {
            return Ok(None);
        };
        let policy = Arc::new(
            arca_acl::parse_policy(&stored.name, &stored.policy)
                .map_err(|_| CoreError::Corrupt("stored policy"))?,
        );
        self.parsed
            .write()
            .map_err(|_| poisoned())?
            .insert(stored.name, Arc::clone(&policy));
        Ok(Some(policy))
    }

    /// The ACL of a set of policies (missing policies are skipped, as Vault does).
    pub(crate) async fn acl(
        &self,
        names: &[String],
        ctx: &TemplateContext,
        cache_key: &str,
    ) -> Result<Arc<Acl>, CoreError> {
        if names.iter().any(|n| n == arca_acl::ROOT_POLICY) {
            return Ok(Arc::new(Acl::root()));
        }
        let key = format!("{}\u{0}{cache_key}", names.join("\u{0}"));
        if let Some(acl) = self.acls.read().map_err(|_| poisoned())?.get(&key) {
            return Ok(Arc::clone(acl));
        }
        let mut policies = Vec::new();
        for n in names {
            if let Some(p) = self.parsed(n).await? {
                policies.push(p);
            }
        }
        let refs: Vec<&Policy> = policies.iter().map(Arc::as_ref).collect();
        let acl = Arc::new(Acl::new(&refs, ctx).map_err(|e| CoreError::invalid(e.to_string()))?);
        let mut cache = self.acls.write().map_err(|_| poisoned())?;
        if cache.len() >= ACL_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&acl));
        Ok(acl)
    }
}
