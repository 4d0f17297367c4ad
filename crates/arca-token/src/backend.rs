//! The `auth/token/*` endpoints.

use std::sync::Arc;
use std::time::Duration;

use arca_logical::{
    Auth, Backend, ErrorKind, FieldData, LogicalError, LogicalResult, Operation, Request, Response,
    SpecialPaths, TokenType,
};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::store::{NewToken, ROLES_PREFIX, blank_entry};
use crate::util::{
    NON_ASSIGNABLE_POLICIES, TtlInputs, calculate_ttl, check_policy_names, contains_glob,
    dedup_lower, is_generic_name, nanos_to_secs, rfc3339, sanitize_policies, token_display_name,
};
use crate::{RoleTokenType, TokenEntry, TokenRole, TokenStore};

/// Serves `auth/token/*`; holds no per-request state.
pub(crate) struct TokenBackend {
    store: Arc<TokenStore>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    RolesList,
    Role(&'a str),
    Accessors,
    Create,
    CreateOrphan,
    CreateRole(&'a str),
    Lookup,
    LookupSelf,
    LookupAccessor,
    Renew,
    RenewSelf,
    RenewAccessor,
    Revoke,
    RevokeSelf,
    RevokeAccessor,
    RevokeOrphan,
    Tidy,
}

fn route(path: &str) -> Option<Route<'_>> {
    Some(match path {
        "roles" | "roles/" => Route::RolesList,
        "accessors" | "accessors/" => Route::Accessors,
        "create" => Route::Create,
        "create-orphan" => Route::CreateOrphan,
        "lookup" => Route::Lookup,
        "lookup-self" => Route::LookupSelf,
        "lookup-accessor" => Route::LookupAccessor,
        "renew" => Route::Renew,
        "renew-self" => Route::RenewSelf,
        "renew-accessor" => Route::RenewAccessor,
        "revoke" => Route::Revoke,
        "revoke-self" => Route::RevokeSelf,
        "revoke-accessor" => Route::RevokeAccessor,
        "revoke-orphan" => Route::RevokeOrphan,
        "tidy" => Route::Tidy,
        other => {
            if let Some(name) = other.strip_prefix("roles/") {
                return is_generic_name(name).then_some(Route::Role(name));
            }
            if let Some(name) = other.strip_prefix("create/") {
                return is_generic_name(name).then_some(Route::CreateRole(name));
            }
            return None;
        }
    })
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Update | Operation::Create)
}

fn bad(msg: impl Into<String>) -> LogicalError {
    LogicalError::invalid(msg)
}

/// How a token is being created.
enum CreateMode<'a> {
    Normal,
    Orphan,
    Role(&'a str),
}

impl TokenBackend {
    pub(crate) fn new(store: Arc<TokenStore>) -> Self {
        Self { store }
    }

    /// The presented token, for the `*-self` endpoints.
    fn own_token(req: &Request) -> Option<&str> {
        req.token
            .as_ref()
            .map(|t| t.expose())
            .filter(|t| !t.is_empty())
    }

    /// Adds the unknown-field warning. Only to responses with content: a 204 stays a 204,
    /// as in Vault.
    fn respond(mut resp: Response, f: &FieldData<'_>) -> Option<Response> {
        resp.warnings.extend(f.warnings());
        Some(resp)
    }

    /// The calling token's entry: the parent of tokens it creates.
    async fn parent(&self, req: &Request) -> LogicalResult<Option<TokenEntry>> {
        if let Some(token) = Self::own_token(req) {
            return Ok(self.store.find(token, false).await?);
        }
        match &req.caller {
            Some(c) if !c.token_id.is_empty() => Ok(self.store.lookup_id(&c.token_id).await?),
            _ => Ok(None),
        }
    }

    // ----- create ------------------------------------------------------------------------

    async fn create(
        &self,
        req: &Request,
        f: FieldData<'_>,
        mode: CreateMode<'_>,
    ) -> LogicalResult<Option<Response>> {
        let mut warnings = Vec::new();
        // The role comes from the path; a `role_name` in the body is ignored.
        f.mark_used(&["role_name"]);
        let role = match mode {
            CreateMode::Role(name) => match self.store.read_role(name).await? {
                Some(r) => Some(r),
                None => return Err(bad("unknown role")),
            },
            _ => None,
        };

        let Some(parent) = self.parent(req).await? else {
            return Err(bad("parent token lookup failed: no parent found"));
        };
        if parent.is_batch() {
            return Err(bad("batch tokens cannot create more tokens"));
        }
        // A use-limited token could escape its limit through children.
        if parent.num_uses > 0 {
            return Err(bad("restricted use token cannot generate child tokens"));
        }
        let is_sudo = req.sudo || parent.is_root();

        let mut type_str = f.string("type")?.unwrap_or_default();
        if let Some(role) = &role {
            match role.token_type {
                RoleTokenType::DefaultService => {}
                RoleTokenType::DefaultBatch => {
                    if type_str.is_empty() {
                        type_str = "batch".to_owned();
                    }
                }
                RoleTokenType::Service => type_str = "service".to_owned(),
                RoleTokenType::Batch => type_str = "batch".to_owned(),
            }
        }
        let mut renewable = f.bool("renewable")?.unwrap_or(true);
        let explicit_max = f
            .duration("explicit_max_ttl")?
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let num_uses = f.i64("num_uses")?.unwrap_or(0);
        let period = f.duration("period")?.map(|d| d.as_secs()).unwrap_or(0);
        let token_type = match type_str.as_str() {
            "" | "service" => TokenType::Service,
            "batch" => {
                let reason = if explicit_max != 0 {
                    Some("explicit_max_ttl")
                } else if num_uses != 0 {
                    Some("num_uses")
                } else if period != 0 {
                    Some("period")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(bad(format!("batch tokens cannot have \"{reason}\" set")));
                }
                renewable = false;
                TokenType::Batch
            }
            _ => return Err(bad("invalid 'token_type' value")),
        };
        let mut num_uses =
            u64::try_from(num_uses).map_err(|_| bad("number of uses cannot be negative"))?;

        // entity_alias: only with a role that allows it; the core resolves the entity.
        let mut explicit_entity = None;
        if let Some(alias) = f.string("entity_alias")?.filter(|a| !a.is_empty()) {
            let Some(role) = &role else {
                return Err(bad(
                    "'entity_alias' is only allowed in combination with token role",
                ));
            };
            let lower = alias.to_lowercase();
            if !role.allowed_entity_aliases.contains(&lower)
                && !contains_glob(&role.allowed_entity_aliases, &lower)
            {
                return Err(bad("invalid 'entity_alias' value"));
            }
            explicit_entity = Some(self.store.hooks().entity_for_alias(&alias).await?);
        }

        let now = self.store.now_nanos();
        let mut entry = TokenEntry {
            parent: Some(parent.id.clone()),
            path: format!("auth/token/{}", req.path),
            meta: f.string_map("meta")?.unwrap_or_default(),
            display_name: "token".to_owned(),
            num_uses: 0,
            ..blank_entry(now, token_type)
        };

        if let Some(role) = &role {
            entry.role = role.name.clone();
            if renewable && !role.renewable {
                renewable = false;
            }
            // 0 means unlimited, so any limit is tighter than none.
            if role.token_num_uses != 0 && (num_uses == 0 || role.token_num_uses < num_uses) {
                num_uses = role.token_num_uses;
            }
            if !role.path_suffix.is_empty() {
                entry.path = format!("{}/{}", entry.path, role.path_suffix);
            }
        }
        entry.num_uses = num_uses;

        if let Some(name) = f.string("display_name")?.filter(|n| !n.is_empty()) {
            entry.display_name = token_display_name(&name);
        }

        let custom_id = match f.string("id")?.filter(|i| !i.is_empty()) {
            Some(id) => {
                if !is_sudo {
                    return Err(bad("root or sudo privileges required to specify token id"));
                }
                Some(id)
            }
            None => None,
        };

        entry.policies = resolve_policies(&f, role.as_ref(), &parent, is_sudo)?;
        if entry.is_root() {
            // Sudo alone must never mint root: that would be an escalation.
            if !parent.is_root() {
                return Err(bad(
                    "root tokens may not be created without parent token being root",
                ));
            }
            if entry.is_batch() {
                return Err(bad("batch tokens cannot be root tokens"));
            }
        }

        let no_parent = f.bool("no_parent")?.unwrap_or(false);
        match (&role, &mode) {
            (Some(role), _) => {
                if role.orphan {
                    entry.parent = None;
                }
                if !role.token_bound_cidrs.is_empty() {
                    entry.bound_cidrs = role.token_bound_cidrs.clone();
                }
            }
            (None, _) if no_parent => {
                if !is_sudo {
                    return Err(bad(
                        "root or sudo privileges required to create orphan token",
                    ));
                }
                entry.parent = None;
            }
            (None, CreateMode::Orphan) => entry.parent = None,
            (None, _) => {}
        }

        match explicit_entity {
            Some(id) => entry.entity_id = id,
            None if entry.parent.is_some() => {
                entry.entity_id = parent.entity_id.clone();
                // Without a role, a child can never be less bound than its parent.
                if role.is_none() {
                    entry.bound_cidrs = parent.bound_cidrs.clone();
                }
            }
            None => {}
        }

        // Explicit max TTL and period: the request's, narrowed by the role's.
        let mut explicit_to_use = explicit_max;
        let mut period_to_use = 0;
        if period > 0 {
            if !is_sudo {
                return Err(bad(
                    "root or sudo privileges required to create periodic token",
                ));
            }
            period_to_use = period;
        }
        let ttl = match f.duration("ttl")? {
            Some(d) => d.as_secs(),
            None => f.duration("lease")?.map(|d| d.as_secs()).unwrap_or(0),
        };
        if let Some(role) = &role
            && !entry.is_batch()
        {
            if role.token_explicit_max_ttl != 0 {
                if explicit_to_use == 0 {
                    explicit_to_use = role.token_explicit_max_ttl;
                } else {
                    explicit_to_use = explicit_to_use.min(role.token_explicit_max_ttl);
                    warnings.push(format!(
                        "Explicit max TTL specified both during creation call and in role; using the lesser value of {explicit_to_use} seconds"
                    ));
                }
            }
            if role.token_period != 0 {
                if period_to_use == 0 {
                    period_to_use = role.token_period;
                } else {
                    period_to_use = period_to_use.min(role.token_period);
                    warnings.push(format!(
                        "Period specified both during creation call and in role; using the lesser value of {period_to_use} seconds"
                    ));
                }
            }
        }
        // The entry keeps only what the request asked for, as Vault does: a role's values
        // bound this TTL here and are read from the role again at each renewal.
        entry.explicit_max_ttl = explicit_max;
        entry.period = if period > 0 { period } else { 0 };

        // Only root tokens asking for no TTL skip the calculation.
        let mut final_ttl = ttl;
        if period_to_use > 0 || ttl > 0 || !entry.is_root() {
            let sys = self.store.system();
            let (t, w) = calculate_ttl(
                nanos_to_secs(now),
                sys.default_lease_ttl().as_secs(),
                sys.max_lease_ttl().as_secs(),
                TtlInputs {
                    backend_ttl: ttl,
                    period: period_to_use,
                    explicit_max: explicit_to_use,
                    start: Some(entry.creation_time),
                    ..TtlInputs::default()
                },
            )?;
            warnings.extend(w);
            final_ttl = t;
        }
        // Root tokens are still bound by an explicit max TTL.
        if final_ttl == 0 && explicit_to_use > 0 {
            final_ttl = explicit_to_use;
        }
        if final_ttl == 0 {
            if parent.ttl != 0 {
                return Err(bad(
                    "expiring root tokens cannot create non-expiring root tokens",
                ));
            }
            // Renewing a non-expiring token is refused, so don't advertise it; nor bind it.
            renewable = false;
            entry.bound_cidrs.clear();
        }
        entry.ttl = final_ttl;
        entry.renewable = renewable;

        let (token, entry) = self
            .store
            .create_token(NewToken { entry, custom_id })
            .await?;
        // After the creation, as Vault: a policy may be written later, so this only warns.
        for p in &entry.policies {
            if !self.store.hooks().policy_exists(p).await? {
                warnings.push(format!("Policy \"{p}\" does not exist"));
            }
        }
        let mut auth = auth_block(&entry, token.to_string(), entry.ttl);
        auth.explicit_max_ttl = Duration::from_secs(explicit_to_use);
        auth.period = Duration::from_secs(period_to_use);
        Ok(Self::respond(
            Response {
                auth: Some(auth),
                warnings,
                ..Response::default()
            },
            &f,
        ))
    }

    // ----- lookup ------------------------------------------------------------------------

    async fn lookup(&self, token: &str, shown_id: Option<&str>) -> LogicalResult<Response> {
        let Some(entry) = self.store.find(token, true).await? else {
            return Err(LogicalError::new(ErrorKind::PermissionDenied, "bad token"));
        };
        let data = lookup_data(&entry, shown_id.unwrap_or(token), self.store.now_nanos());
        Ok(Response::with_data(data))
    }

    async fn lookup_accessor(&self, f: FieldData<'_>) -> LogicalResult<Option<Response>> {
        let accessor = f.string("accessor")?.unwrap_or_default();
        if accessor.is_empty() {
            return Err(bad("missing accessor"));
        }
        let Some(id) = self.store.id_for_accessor(&accessor).await? else {
            return Err(bad("invalid accessor"));
        };
        let now = self.store.now_nanos();
        match self.store.read_entry(&id).await? {
            Some(entry) if !entry.is_expired_at(now) => Ok(Self::respond(
                Response::with_data(lookup_data(&entry, "", now)),
                &f,
            )),
            _ => Err(LogicalError::new(ErrorKind::PermissionDenied, "bad token")),
        }
    }

    // ----- renew -------------------------------------------------------------------------

    async fn renew(
        &self,
        f: FieldData<'_>,
        entry: Option<TokenEntry>,
        shown_token: String,
    ) -> LogicalResult<Option<Response>> {
        let increment = f.duration("increment")?.unwrap_or(Duration::ZERO);
        let Some(entry) = entry else {
            return Err(bad("token not found"));
        };
        if entry.is_batch() {
            return Err(bad("batch tokens cannot be renewed"));
        }
        let (entry, warnings) = self.store.renew(&entry, increment).await?;
        let auth = auth_block(&entry, shown_token, entry.current_ttl);
        Ok(Self::respond(
            Response {
                auth: Some(auth),
                warnings,
                ..Response::default()
            },
            &f,
        ))
    }

    // ----- revoke ------------------------------------------------------------------------

    async fn revoke(&self, token: &str) -> LogicalResult<Option<Response>> {
        let Some(entry) = self.store.lookup(token).await? else {
            return Ok(None);
        };
        if entry.is_batch() {
            return Err(bad("batch tokens cannot be revoked"));
        }
        self.store.revoke_tree(&entry.id).await?;
        Ok(None)
    }

    async fn revoke_accessor(&self, f: FieldData<'_>) -> LogicalResult<Option<Response>> {
        let accessor = f.string("accessor")?.unwrap_or_default();
        if accessor.is_empty() {
            return Err(bad("missing accessor"));
        }
        let Some(id) = self.store.id_for_accessor(&accessor).await? else {
            let resp = Response {
                warnings: vec!["No token found with this accessor".to_owned()],
                ..Response::default()
            };
            return Ok(Self::respond(resp, &f));
        };
        if self.store.lookup_id(&id).await?.is_none() {
            return Err(bad("token not found"));
        }
        self.store.revoke_tree(&id).await?;
        Ok(None)
    }

    async fn revoke_orphan(
        &self,
        req: &Request,
        f: FieldData<'_>,
    ) -> LogicalResult<Option<Response>> {
        let token = f.string("token")?.unwrap_or_default();
        if token.is_empty() {
            return Err(bad("missing token ID"));
        }
        let caller_is_root = req.caller.as_ref().is_some_and(|c| c.is_root);
        if !(req.sudo || caller_is_root) {
            return Err(bad("root or sudo privileges required to revoke and orphan"));
        }
        let Some(entry) = self.store.lookup(&token).await? else {
            return Err(bad("token to revoke not found"));
        };
        if entry.is_batch() {
            return Err(bad("batch tokens cannot be revoked"));
        }
        self.store.revoke_orphan(&entry.id).await?;
        Ok(None)
    }

    // ----- roles -------------------------------------------------------------------------

    async fn role(
        &self,
        req: &Request,
        name: &str,
        f: FieldData<'_>,
    ) -> LogicalResult<Option<Response>> {
        match req.operation {
            Operation::Read => Ok(self
                .store
                .read_role(name)
                .await?
                .map(|r| Response::with_data(r.to_data()))),
            Operation::Delete => {
                self.store
                    .storage()
                    .delete(&format!("{ROLES_PREFIX}{name}"))
                    .await?;
                Ok(None)
            }
            Operation::Create | Operation::Update => {
                let existing = self.store.read_role(name).await?;
                let op = if existing.is_some() {
                    Operation::Update
                } else {
                    Operation::Create
                };
                let mut role = existing.unwrap_or_else(|| TokenRole {
                    name: name.to_owned(),
                    ..TokenRole::default()
                });
                let system_max = self.store.system().max_lease_ttl().as_secs();
                let warnings = role.apply(op, &f, system_max)?;
                self.store.write_role(&role).await?;
                if warnings.is_empty() {
                    Ok(None)
                } else {
                    Ok(Self::respond(
                        Response {
                            warnings,
                            ..Response::default()
                        },
                        &f,
                    ))
                }
            }
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn list_roles(&self) -> LogicalResult<Option<Response>> {
        let keys: Vec<String> = self
            .store
            .storage()
            .list(ROLES_PREFIX)
            .await?
            .into_iter()
            .filter(|k| !k.ends_with('/'))
            .collect();
        let mut data = Map::new();
        data.insert("keys".into(), json!(keys));
        Ok(Some(Response::with_data(data)))
    }
}

#[async_trait]
impl Backend for TokenBackend {
    fn special_paths(&self) -> SpecialPaths {
        SpecialPaths {
            unauthenticated: Vec::new(),
            root: vec![
                "revoke-orphan".to_owned(),
                "revoke-orphan/*".to_owned(),
                "accessors".to_owned(),
                "accessors/*".to_owned(),
            ],
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        match route(&req.path) {
            Some(Route::Role(name)) => Ok(Some(self.store.read_role(name).await?.is_some())),
            _ => Ok(None),
        }
    }

    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let Some(r) = route(&req.path) else {
            return Err(LogicalError::unsupported_path());
        };
        let op = req.operation;
        let f = req.fields();
        match r {
            Route::RolesList if op == Operation::List => self.list_roles().await,
            Route::Role(name) => self.role(req, name, f).await,
            Route::Accessors if op == Operation::List => {
                let (keys, warnings) = self.store.list_accessors().await?;
                let mut data = Map::new();
                data.insert("keys".into(), json!(keys));
                Ok(Some(Response {
                    data: Some(data),
                    warnings,
                    ..Response::default()
                }))
            }
            Route::Create if is_write(op) => self.create(req, f, CreateMode::Normal).await,
            Route::CreateOrphan if is_write(op) => self.create(req, f, CreateMode::Orphan).await,
            Route::CreateRole(name) if is_write(op) => {
                self.create(req, f, CreateMode::Role(name)).await
            }
            Route::Lookup if is_write(op) || op == Operation::Read => {
                // An empty token means the caller's own.
                let given = f.string("token")?.filter(|t| !t.is_empty());
                let Some(token) = given.as_deref().or(Self::own_token(req)) else {
                    return Err(bad("missing token ID"));
                };
                Ok(Self::respond(self.lookup(token, None).await?, &f))
            }
            Route::LookupSelf if is_write(op) || op == Operation::Read => {
                f.mark_used(&["token"]);
                let Some(token) = Self::own_token(req) else {
                    return Err(bad("missing token ID"));
                };
                Ok(Self::respond(self.lookup(token, None).await?, &f))
            }
            Route::LookupAccessor if is_write(op) => self.lookup_accessor(f).await,
            Route::Renew if is_write(op) => {
                let token = f.string("token")?.unwrap_or_default();
                if token.is_empty() {
                    return Err(bad("missing token ID"));
                }
                let entry = self.store.lookup(&token).await?;
                self.renew(f, entry, token).await
            }
            Route::RenewSelf if is_write(op) => {
                f.mark_used(&["token"]);
                let Some(token) = Self::own_token(req) else {
                    return Err(bad("missing token ID"));
                };
                let entry = self.store.lookup(token).await?;
                self.renew(f, entry, token.to_owned()).await
            }
            Route::RenewAccessor if is_write(op) => {
                let accessor = f.string("accessor")?.unwrap_or_default();
                if accessor.is_empty() {
                    return Err(bad("missing accessor"));
                }
                let Some(id) = self.store.id_for_accessor(&accessor).await? else {
                    return Err(bad("invalid accessor"));
                };
                let entry = self.store.lookup_id(&id).await?;
                self.renew(f, entry, String::new()).await
            }
            Route::Revoke if is_write(op) => {
                let token = f.string("token")?.unwrap_or_default();
                if token.is_empty() {
                    return Err(bad("missing token ID"));
                }
                self.revoke(&token).await
            }
            Route::RevokeSelf if is_write(op) => match Self::own_token(req) {
                Some(token) => self.revoke(token).await,
                None => Err(bad("missing token ID")),
            },
            Route::RevokeAccessor if is_write(op) => self.revoke_accessor(f).await,
            Route::RevokeOrphan if is_write(op) => self.revoke_orphan(req, f).await,
            Route::Tidy if is_write(op) => {
                let warning = if self.store.start_tidy() {
                    "Tidy operation successfully started. Any information from the operation will be printed to the server logs."
                } else {
                    "Tidy operation already in progress."
                };
                Ok(Some(Response {
                    warnings: vec![warning.to_owned()],
                    status: arca_logical::ResponseStatus::Accepted,
                    ..Response::default()
                }))
            }
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn cleanup(&self) {
        self.store.stop_tidy();
    }
}

/// Vault's policy resolution for `auth/token/create*` (`resolveTokenPolicies`).
fn resolve_policies(
    f: &FieldData<'_>,
    role: Option<&TokenRole>,
    parent: &TokenEntry,
    is_sudo: bool,
) -> LogicalResult<Vec<String>> {
    // Not a comma list: `"a,b"` is one (odd) policy name, as in Vault.
    let mut policies = f.string_list("policies")?.unwrap_or_default();
    check_policy_names(&policies)?;
    let no_default = f.bool("no_default_policy")?.unwrap_or(false);
    let mut add_default = false;
    match role {
        Some(role) if role.has_policy_rules() => {
            let local_default = !no_default
                && !role.token_no_default_policy
                && !role.disallowed_policies.iter().any(|p| p == "default")
                && !contains_glob(&role.disallowed_policies_glob, "default");
            let mut finals = if policies.is_empty() {
                Vec::new()
            } else {
                sanitize_policies(&policies, local_default)
            };
            if !role.allowed_policies.is_empty() || !role.allowed_policies_glob.is_empty() {
                let allowed = sanitize_policies(&role.allowed_policies, local_default);
                if finals.is_empty() {
                    finals = allowed;
                } else {
                    let globs = sanitize_policies(&role.allowed_policies_glob, false);
                    if finals
                        .iter()
                        .any(|p| !allowed.contains(p) && !contains_glob(&globs, p))
                    {
                        return Err(bad(
                            "token policies must be subset of the role's allowed policies or glob policies",
                        ));
                    }
                }
            } else if finals.is_empty() {
                finals = sanitize_policies(&parent.policies, local_default);
            }
            if !role.disallowed_policies.is_empty() || !role.disallowed_policies_glob.is_empty() {
                let denied = dedup_lower(&role.disallowed_policies);
                let denied_globs = dedup_lower(&role.disallowed_policies_glob);
                if finals
                    .iter()
                    .any(|p| denied.contains(p) || contains_glob(&denied_globs, p))
                {
                    return Err(bad("token policy is disallowed by this role"));
                }
            }
            policies = finals;
        }
        _ if policies.is_empty() => {
            // Inherit the parent's; `default` only if the parent has it.
            policies = sanitize_policies(&parent.policies, false);
        }
        _ if !is_sudo => {
            let wanted = sanitize_policies(&policies, false);
            let have = sanitize_policies(&parent.policies, false);
            if !wanted.iter().all(|p| have.contains(p)) {
                return Err(bad("child policies must be subset of parent"));
            }
            add_default = !no_default && parent.policies.iter().any(|p| p == "default");
        }
        _ => add_default = !no_default,
    }
    let mut finals = sanitize_policies(&policies, add_default);
    if no_default {
        finals.retain(|p| p != "default");
    }
    if let Some(p) = finals
        .iter()
        .find(|p| NON_ASSIGNABLE_POLICIES.contains(&p.as_str()))
    {
        return Err(bad(format!("cannot assign policy \"{p}\"")));
    }
    Ok(finals)
}

/// The `auth` block for a created or renewed token.
fn auth_block(entry: &TokenEntry, client_token: String, ttl: u64) -> Auth {
    Auth {
        client_token,
        accessor: entry.accessor.clone(),
        policies: entry.policies.clone(),
        token_policies: entry.policies.clone(),
        metadata: entry.meta.clone(),
        display_name: entry.display_name.clone(),
        ttl: Duration::from_secs(ttl),
        explicit_max_ttl: Duration::from_secs(entry.explicit_max_ttl),
        period: Duration::from_secs(entry.period),
        num_uses: entry.num_uses,
        renewable: entry.renewable,
        token_type: entry.token_type,
        entity_id: entry.entity_id.clone(),
        orphan: entry.parent.is_none(),
        ..Auth::default()
    }
}

/// The `data` of `lookup`, `lookup-self` and `lookup-accessor`, as OpenBao shows it.
pub(crate) fn lookup_data(
    entry: &TokenEntry,
    shown_id: &str,
    now_nanos: i64,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(shown_id));
    m.insert("accessor".into(), json!(entry.accessor));
    m.insert("policies".into(), json!(entry.policies));
    m.insert("path".into(), json!(entry.path));
    m.insert(
        "meta".into(),
        if entry.meta.is_empty() {
            Value::Null
        } else {
            json!(entry.meta)
        },
    );
    m.insert("display_name".into(), json!(entry.display_name));
    m.insert("num_uses".into(), json!(entry.shown_num_uses()));
    m.insert("orphan".into(), json!(entry.parent.is_none()));
    m.insert("creation_time".into(), json!(entry.creation_time));
    m.insert("creation_ttl".into(), json!(entry.ttl));
    m.insert("explicit_max_ttl".into(), json!(entry.explicit_max_ttl));
    m.insert("entity_id".into(), json!(entry.entity_id));
    m.insert("type".into(), json!(entry.token_type.as_str()));
    if !entry.role.is_empty() {
        m.insert("role".into(), json!(entry.role));
    }
    if entry.period != 0 {
        m.insert("period".into(), json!(entry.period));
    }
    if !entry.bound_cidrs.is_empty() {
        m.insert("bound_cidrs".into(), json!(entry.bound_cidrs));
    }
    if let Some(renewed) = entry.last_renewal_time {
        m.insert("last_renewal_time".into(), json!(nanos_to_secs(renewed)));
        m.insert("last_renewal".into(), json!(rfc3339(renewed)));
    }
    let (expire, ttl) = match entry.expire_time {
        Some(e) => {
            // Remaining whole seconds against the current second, as Vault rounds it.
            let now_rounded = (now_nanos + 500_000_000).div_euclid(1_000_000_000) * 1_000_000_000;
            let remaining = (e - now_rounded) / 1_000_000_000;
            (json!(rfc3339(e)), remaining.max(0))
        }
        None => (Value::Null, 0),
    };
    m.insert("expire_time".into(), expire);
    m.insert("ttl".into(), json!(ttl));
    let renewable =
        entry.renewable && !entry.is_batch() && entry.expire_time.is_some_and(|e| e > now_nanos);
    m.insert("renewable".into(), json!(renewable));
    m.insert("issue_time".into(), json!(rfc3339(entry.issue_time)));
    m
}
