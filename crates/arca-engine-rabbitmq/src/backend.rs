//! The backend: path table, stored records, credentials and their leases.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use arca_logical::{
    Backend, BackendConfig, ErrorKind, FieldData, LogicalError, LogicalResult, Operation,
    PathTable, Request, Response, SecretInfo, SystemView,
};
use arca_password_policy::PasswordPolicy;
use arca_storage::Storage;
use arca_username_template::{UsernameMetadata, UsernameTemplate};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::RabbitMqError;
use crate::client::{Management, MgmtError, check_uri};

/// Vault's `framework.GenericNameRegex`.
const NAME: &str = r"\w(?:(?:[\w\-.]+)?\w)?";

/// OpenBao's default: the token's display name and a UUID.
const DEFAULT_USERNAME_TEMPLATE: &str = r#"{{ printf "%s-%s" (.DisplayName) (uuid) }}"#;

const CONFIG_CONNECTION: &str = "config/connection";
const CONFIG_LEASE: &str = "config/lease";
const ROLE: &str = "role/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Connection,
    Lease,
    RoleList,
    Role,
    Creds,
}

/// A password at rest (the SDK's zeroizing, redacted string).
use arca_logical::SecretString as Secret;

/// `config/connection`, in OpenBao's stored shape.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ConnectionConfig {
    #[serde(rename = "connection_uri")]
    uri: String,
    username: String,
    password: Secret,
    #[serde(default)]
    password_policy: String,
    #[serde(default)]
    username_template: String,
}

/// `config/lease`: whole seconds.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct LeaseConfig {
    ttl: u64,
    max_ttl: u64,
}

/// Permissions in one vhost (regular expressions over resource names).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VhostPermission {
    #[serde(default)]
    configure: String,
    #[serde(default)]
    write: String,
    #[serde(default)]
    read: String,
}

/// Topic permissions on one exchange.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TopicPermission {
    #[serde(default)]
    write: String,
    #[serde(default)]
    read: String,
}

/// `roles/<name>`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Role {
    #[serde(default)]
    tags: String,
    #[serde(default)]
    vhosts: BTreeMap<String, VhostPermission>,
    #[serde(default)]
    vhost_topics: BTreeMap<String, BTreeMap<String, TopicPermission>>,
}

fn corrupt(what: &str) -> LogicalError {
    tracing::error!(
        record = what,
        "rabbitmq engine: stored record is unreadable"
    );
    LogicalError::internal()
}

async fn get_json<T: DeserializeOwned>(s: &dyn Storage, key: &str) -> LogicalResult<Option<T>> {
    match s.get(key).await? {
        None => Ok(None),
        Some(bytes) => {
            let bytes = Zeroizing::new(bytes);
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| corrupt(key))
        }
    }
}

async fn put_json<T: Serialize>(s: &dyn Storage, key: &str, value: &T) -> LogicalResult<()> {
    let bytes = Zeroizing::new(serde_json::to_vec(value).map_err(|_| corrupt(key))?);
    s.put(key, &bytes).await?;
    Ok(())
}

/// A 5xx-class error for a failed management call; the cause is logged without secrets.
fn mgmt_err(context: &str, e: &MgmtError) -> LogicalError {
    tracing::warn!(error = %e, "rabbitmq engine: {context}");
    LogicalError::new(ErrorKind::Internal, format!("{context}: {e}"))
}

/// A JSON-object field sent as a string (Vault's `TypeString` holding JSON) or, as a
/// convenience, as an object.
fn json_field<T: DeserializeOwned + Default>(f: &FieldData<'_>, name: &str) -> LogicalResult<T> {
    match f.raw(name) {
        None => Ok(T::default()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(T::default()),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|e| LogicalError::invalid(format!("failed to unmarshal {name}: {e}"))),
        Some(v @ Value::Object(_)) => serde_json::from_value(v.clone())
            .map_err(|e| LogicalError::invalid(format!("failed to unmarshal {name}: {e}"))),
        Some(_) => Err(LogicalError::invalid(format!(
            "failed to unmarshal {name}: expected a JSON object"
        ))),
    }
}

fn with_warnings(warnings: Vec<String>) -> Option<Response> {
    (!warnings.is_empty()).then(|| Response {
        warnings,
        ..Response::default()
    })
}

fn role_name(captures: &BTreeMap<String, String>) -> LogicalResult<String> {
    captures
        .get("name")
        .cloned()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| LogicalError::invalid("missing name"))
}

/// A mounted RabbitMQ engine.
pub struct RabbitMqBackend {
    storage: Arc<dyn Storage>,
    system: Arc<dyn SystemView>,
    paths: PathTable<Route>,
    /// The management client for the stored configuration; rebuilt when absent.
    client: tokio::sync::Mutex<Option<Arc<Management>>>,
}

impl RabbitMqBackend {
    /// A backend for one mount.
    pub fn new(config: BackendConfig) -> LogicalResult<Arc<Self>> {
        let n = NAME;
        let table = || -> Result<PathTable<Route>, regex::Error> {
            PathTable::new()
                .add("config/connection", Route::Connection)?
                .add("config/lease", Route::Lease)?
                .add("roles/?", Route::RoleList)?
                .add(&format!("roles/(?P<name>{n})"), Route::Role)?
                .add(&format!("creds/(?P<name>{n})"), Route::Creds)
        };
        let paths = table().map_err(|_| {
            tracing::error!(error = %RabbitMqError::PathTable, "rabbitmq engine");
            LogicalError::internal()
        })?;
        Ok(Arc::new(RabbitMqBackend {
            storage: config.storage,
            system: config.system,
            paths,
            client: tokio::sync::Mutex::new(None),
        }))
    }

    async fn connection_config(&self) -> LogicalResult<Option<ConnectionConfig>> {
        get_json(self.storage.as_ref(), CONFIG_CONNECTION).await
    }

    /// The management client of the stored configuration.
    async fn client(&self) -> LogicalResult<Arc<Management>> {
        let mut guard = self.client.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(Arc::clone(c));
        }
        let config = self.connection_config().await?.ok_or_else(|| {
            LogicalError::invalid(
                "the RabbitMQ connection is not configured (write config/connection)",
            )
        })?;
        let c = Arc::new(
            Management::new(
                &config.uri,
                &config.username,
                Zeroizing::new(config.password.0.to_string()),
            )
            .map_err(|e| mgmt_err("failed to create the RabbitMQ client", &e))?,
        );
        *guard = Some(Arc::clone(&c));
        Ok(c)
    }

    // ---- config/ ----------------------------------------------------------------------

    async fn connection_write(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let uri = f.string("connection_uri")?.unwrap_or_default();
        if uri.is_empty() {
            return Err(LogicalError::invalid("missing connection_uri"));
        }
        check_uri(&uri).map_err(LogicalError::invalid)?;
        let username = f.string("username")?.unwrap_or_default();
        if username.is_empty() {
            return Err(LogicalError::invalid("missing username"));
        }
        let password = Zeroizing::new(f.string("password")?.unwrap_or_default());
        if password.is_empty() {
            return Err(LogicalError::invalid("missing password"));
        }
        let username_template = f.string("username_template")?.unwrap_or_default();
        if !username_template.is_empty() {
            UsernameTemplate::parse(&username_template).map_err(|e| {
                LogicalError::invalid(format!("unable to initialize username template: {e}"))
            })?;
        }
        let password_policy = f.string("password_policy")?.unwrap_or_default();
        let verify = f.bool("verify_connection")?.unwrap_or(true);
        let client = Management::new(&uri, &username, password.clone())
            .map_err(|e| LogicalError::invalid(e.message))?;
        if verify {
            client.verify().await.map_err(|e| {
                tracing::warn!(error = %e, "rabbitmq engine: connection check failed");
                LogicalError::invalid(format!("failed to validate the connection: {e}"))
            })?;
        }
        let warnings = f.warnings();
        let config = ConnectionConfig {
            uri,
            username,
            password: Secret(password),
            password_policy,
            username_template,
        };
        put_json(self.storage.as_ref(), CONFIG_CONNECTION, &config).await?;
        *self.client.lock().await = Some(Arc::new(client));
        Ok(with_warnings(warnings))
    }

    async fn lease_config(&self) -> LogicalResult<Option<LeaseConfig>> {
        get_json(self.storage.as_ref(), CONFIG_LEASE).await
    }

    async fn lease_write(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        // As in OpenBao, a field left out is 0 (the mount's TTLs).
        let ttl = f.duration("ttl")?.unwrap_or_default().as_secs();
        let max_ttl = f.duration("max_ttl")?.unwrap_or_default().as_secs();
        if max_ttl > 0 && ttl > max_ttl {
            return Err(LogicalError::invalid("ttl cannot be greater than max_ttl"));
        }
        let warnings = f.warnings();
        put_json(
            self.storage.as_ref(),
            CONFIG_LEASE,
            &LeaseConfig { ttl, max_ttl },
        )
        .await?;
        Ok(with_warnings(warnings))
    }

    async fn lease_read(&self) -> LogicalResult<Option<Response>> {
        Ok(self.lease_config().await?.map(|l| {
            let mut m = Map::new();
            m.insert("ttl".into(), json!(l.ttl));
            m.insert("max_ttl".into(), json!(l.max_ttl));
            Response::with_data(m)
        }))
    }

    // ---- roles/ -----------------------------------------------------------------------

    async fn role(&self, name: &str) -> LogicalResult<Option<Role>> {
        get_json(self.storage.as_ref(), &format!("{ROLE}{name}")).await
    }

    async fn role_write(&self, req: &Request, name: &str) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        f.mark_used(&["name"]);
        let tags = f.string("tags")?.unwrap_or_default();
        let vhosts: BTreeMap<String, VhostPermission> = json_field(&f, "vhosts")?;
        let vhost_topics: BTreeMap<String, BTreeMap<String, TopicPermission>> =
            json_field(&f, "vhost_topics")?;
        // Tags or vhost permissions are needed; topic permissions are optional.
        if tags.is_empty() && vhosts.is_empty() {
            return Err(LogicalError::invalid("both tags and vhosts not specified"));
        }
        let warnings = f.warnings();
        put_json(
            self.storage.as_ref(),
            &format!("{ROLE}{name}"),
            &Role {
                tags,
                vhosts,
                vhost_topics,
            },
        )
        .await?;
        Ok(with_warnings(warnings))
    }

    fn role_data(role: &Role) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("tags".into(), json!(role.tags));
        m.insert("vhosts".into(), json!(role.vhosts));
        m.insert("vhost_topics".into(), json!(role.vhost_topics));
        m
    }

    // ---- creds/ and leases -------------------------------------------------------------

    async fn generate_password(&self, policy: &str) -> LogicalResult<Zeroizing<String>> {
        if policy.is_empty() {
            // OpenBao's default for this engine: 36 base62 characters.
            return arca_crypto::random_base62(36)
                .map(Zeroizing::new)
                .map_err(|_| {
                    tracing::error!("rabbitmq engine: random generator failure");
                    LogicalError::internal()
                });
        }
        let text = self
            .system
            .password_policy(policy)
            .await?
            .ok_or_else(|| LogicalError::invalid("password policy not found"))?;
        let p = PasswordPolicy::parse(&text)
            .map_err(|e| LogicalError::invalid(format!("invalid password policy: {e}")))?;
        p.generate()
            .map_err(|e| LogicalError::invalid(format!("failed to generate password: {e}")))
    }

    async fn creds(&self, req: &Request, name: &str) -> LogicalResult<Option<Response>> {
        let role = self
            .role(name)
            .await?
            .ok_or_else(|| LogicalError::invalid("unknown role"))?;
        let config = self.connection_config().await?.ok_or_else(|| {
            LogicalError::invalid(
                "the RabbitMQ connection is not configured (write config/connection)",
            )
        })?;
        let template_src = if config.username_template.is_empty() {
            DEFAULT_USERNAME_TEMPLATE
        } else {
            config.username_template.as_str()
        };
        let template = UsernameTemplate::parse(template_src).map_err(|e| {
            LogicalError::invalid(format!("unable to initialize username template: {e}"))
        })?;
        let meta = UsernameMetadata {
            display_name: req
                .caller
                .as_ref()
                .map(|c| c.display_name.clone())
                .unwrap_or_default(),
            role_name: name.to_owned(),
            unix_millis: self
                .system
                .now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i128::try_from(d.as_millis()).unwrap_or(0))
                .unwrap_or(0),
        };
        let username = template
            .render(&meta)
            .map_err(|e| LogicalError::invalid(format!("failed to generate username: {e}")))?;
        if username.is_empty() {
            return Err(LogicalError::invalid(
                "failed to generate username: the template rendered an empty name",
            ));
        }
        let password = self.generate_password(&config.password_policy).await?;
        let lease = self.lease_config().await?.unwrap_or_default();
        let client = self.client().await?;

        client
            .put_user(&username, &password, &role.tags)
            .await
            .map_err(|e| {
                mgmt_err(
                    "failed to create a new user with the generated credentials",
                    &e,
                )
            })?;
        if let Err(e) = Self::grant(&client, &role, &username).await {
            // The user exists with an unknown set of permissions: remove it.
            if let Err(del) = client.delete_user(&username).await {
                tracing::error!(error = %del, "rabbitmq engine: deleting a half-created user failed");
            }
            return Err(e);
        }

        let mut data = Map::new();
        data.insert("username".into(), json!(username));
        data.insert("password".into(), Value::String(password.to_string()));
        let mut internal = Map::new();
        internal.insert("username".into(), json!(username));
        Ok(Some(Response {
            data: Some(data),
            secret: Some(SecretInfo {
                ttl: Duration::from_secs(lease.ttl),
                max_ttl: Duration::from_secs(lease.max_ttl),
                renewable: true,
                leased: true,
                internal_data: internal,
                ..SecretInfo::default()
            }),
            ..Response::default()
        }))
    }

    /// Grants the role's vhost and topic permissions to a new user.
    async fn grant(client: &Management, role: &Role, username: &str) -> LogicalResult<()> {
        for (vhost, p) in &role.vhosts {
            client
                .put_permissions(vhost, username, &p.configure, &p.write, &p.read)
                .await
                .map_err(|e| mgmt_err("error updating vhost permissions", &e))?;
        }
        for (vhost, exchanges) in &role.vhost_topics {
            for (exchange, p) in exchanges {
                client
                    .put_topic_permissions(vhost, username, exchange, &p.write, &p.read)
                    .await
                    .map_err(|e| mgmt_err("error updating vhost topic permissions", &e))?;
            }
        }
        Ok(())
    }

    async fn renew_creds(&self, secret: &SecretInfo) -> LogicalResult<Option<Response>> {
        let lease = self.lease_config().await?.unwrap_or_default();
        Ok(Some(Response {
            secret: Some(SecretInfo {
                lease_id: secret.lease_id.clone(),
                ttl: Duration::from_secs(lease.ttl),
                max_ttl: Duration::from_secs(lease.max_ttl),
                renewable: true,
                leased: true,
                internal_data: secret.internal_data.clone(),
            }),
            ..Response::default()
        }))
    }

    async fn revoke_creds(&self, secret: &SecretInfo) -> LogicalResult<()> {
        let username = secret
            .internal_data
            .get("username")
            .and_then(Value::as_str)
            .ok_or_else(|| LogicalError::invalid("secret is missing username internal data"))?;
        let client = self.client().await?;
        // An error keeps the lease, and the lease manager retries with backoff.
        client
            .delete_user(username)
            .await
            .map_err(|e| mgmt_err("could not delete user", &e))?;
        // Deleting the user refuses new connections; end the open ones explicitly too.
        if let Err(e) = client.close_connections(username).await {
            tracing::warn!(error = %e, "rabbitmq engine: closing a revoked user's connections failed");
        }
        Ok(())
    }
}

#[async_trait]
impl Backend for RabbitMqBackend {
    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Err(LogicalError::unsupported_path());
        };
        let write = matches!(req.operation, Operation::Create | Operation::Update);
        match (*m.handler, req.operation) {
            (Route::Connection, _) if write => self.connection_write(req).await,
            (Route::Lease, _) if write => self.lease_write(req).await,
            (Route::Lease, Operation::Read) => self.lease_read().await,
            (Route::RoleList, Operation::List) => {
                let keys = self.storage.list(ROLE).await?;
                if keys.is_empty() {
                    return Ok(None);
                }
                let mut d = Map::new();
                d.insert("keys".into(), json!(keys));
                Ok(Some(Response::with_data(d)))
            }
            (Route::Role, _) if write => self.role_write(req, &role_name(&m.captures)?).await,
            (Route::Role, Operation::Read) => Ok(self
                .role(&role_name(&m.captures)?)
                .await?
                .map(|r| Response::with_data(Self::role_data(&r)))),
            (Route::Role, Operation::Delete) => {
                let name = role_name(&m.captures)?;
                self.storage.delete(&format!("{ROLE}{name}")).await?;
                Ok(None)
            }
            (Route::Creds, Operation::Read) => self.creds(req, &role_name(&m.captures)?).await,
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn renew(&self, _req: &Request, secret: &SecretInfo) -> LogicalResult<Option<Response>> {
        self.renew_creds(secret).await
    }

    async fn revoke(&self, _req: &Request, secret: &SecretInfo) -> LogicalResult<()> {
        self.revoke_creds(secret).await
    }

    async fn cleanup(&self) {
        *self.client.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::SystemTime;

    use arca_logical::Caller;
    use arca_storage::InMemStorage;

    use super::*;

    const MGMT: &str = "http://127.0.0.1:15672";

    struct View;

    #[async_trait]
    impl SystemView for View {
        fn default_lease_ttl(&self) -> Duration {
            Duration::from_secs(3600)
        }
        fn max_lease_ttl(&self) -> Duration {
            Duration::from_secs(86400)
        }
        fn now(&self) -> SystemTime {
            SystemTime::now()
        }
        async fn password_policy(&self, name: &str) -> LogicalResult<Option<String>> {
            Ok((name == "digits").then(|| {
                "length = 20\nrule \"charset\" {\n  charset = \"0123456789\"\n}\n".to_owned()
            }))
        }
    }

    fn engine() -> Arc<RabbitMqBackend> {
        RabbitMqBackend::new(BackendConfig {
            storage: Arc::new(InMemStorage::new()),
            system: Arc::new(View),
            mount_path: "rabbitmq/".into(),
            mount_accessor: "rabbitmq_test".into(),
            mount_type: "rabbitmq".into(),
            options: Default::default(),
        })
        .unwrap()
    }

    async fn call(
        b: &RabbitMqBackend,
        op: Operation,
        path: &str,
        data: Value,
    ) -> LogicalResult<Option<Response>> {
        let mut req = Request::new("test", op, path);
        req.mount_point = "rabbitmq/".into();
        if let Value::Object(m) = data {
            req.data = m;
        }
        req.caller = Some(Caller {
            display_name: "token".into(),
            ..Caller::default()
        });
        b.handle(&req).await
    }

    fn kind(r: LogicalResult<Option<Response>>) -> ErrorKind {
        r.expect_err("an error").kind
    }

    async fn configure_offline(b: &RabbitMqBackend, extra: Value) {
        let mut body = json!({
            "connection_uri": MGMT,
            "username": "admin",
            "password": "hunter2-admin-secret",
            "verify_connection": false,
        });
        if let (Value::Object(m), Value::Object(x)) = (&mut body, extra) {
            m.extend(x);
        }
        call(b, Operation::Update, "config/connection", body)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn connection_config_is_validated_and_write_only() {
        let b = engine();
        for (body, msg) in [
            (
                json!({"username": "a", "password": "b"}),
                "missing connection_uri",
            ),
            (
                json!({"connection_uri": MGMT, "password": "b"}),
                "missing username",
            ),
            (
                json!({"connection_uri": MGMT, "username": "a"}),
                "missing password",
            ),
            (
                json!({"connection_uri": "amqp://127.0.0.1:5672", "username": "a", "password": "b"}),
                "http or https",
            ),
            (
                json!({"connection_uri": MGMT, "username": "a", "password": "b",
                       "username_template": "{{ nosuchfunc }}", "verify_connection": false}),
                "username template",
            ),
            (
                json!({"connection_uri": MGMT, "username": "a", "password": "b",
                       "verify_connection": "maybe"}),
                "verify_connection",
            ),
        ] {
            let e = call(&b, Operation::Update, "config/connection", body)
                .await
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e:?}");
            assert!(e.message.contains(msg), "{} lacks {msg}", e.message);
        }
        configure_offline(&b, json!({})).await;
        // No read: the password is never given back.
        assert_eq!(
            kind(call(&b, Operation::Read, "config/connection", json!({})).await),
            ErrorKind::UnsupportedOperation
        );
        let stored = b.connection_config().await.unwrap().unwrap();
        let debug = format!("{stored:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("admin"));
    }

    #[tokio::test]
    async fn lease_config_round_trips() {
        let b = engine();
        assert!(
            call(&b, Operation::Read, "config/lease", json!({}))
                .await
                .unwrap()
                .is_none()
        );
        call(
            &b,
            Operation::Update,
            "config/lease",
            json!({"ttl": "1h", "max_ttl": 7200}),
        )
        .await
        .unwrap();
        let r = call(&b, Operation::Read, "config/lease", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Value::Object(r.data.unwrap()),
            json!({"ttl": 3600, "max_ttl": 7200})
        );
        for body in [
            json!({"ttl": "2h", "max_ttl": "1h"}),
            json!({"ttl": "soon"}),
        ] {
            assert_eq!(
                kind(call(&b, Operation::Update, "config/lease", body).await),
                ErrorKind::InvalidRequest
            );
        }
    }

    #[tokio::test]
    async fn roles_are_validated_read_listed_and_deleted() {
        let b = engine();
        assert!(
            call(&b, Operation::List, "roles/", json!({}))
                .await
                .unwrap()
                .is_none()
        );
        for body in [
            json!({}),
            json!({"tags": ""}),
            json!({"vhosts": "{not json"}),
            json!({"vhosts": "[1,2]"}),
            json!({"vhosts": r#"{"/": "all"}"#}),
            json!({"vhosts": 5}),
            json!({"tags": "management", "vhost_topics": r#"{"/": {"amq.topic": 1}}"#}),
        ] {
            assert_eq!(
                kind(call(&b, Operation::Update, "roles/r", body.clone()).await),
                ErrorKind::InvalidRequest,
                "{body}"
            );
        }
        let r = call(
            &b,
            Operation::Update,
            "roles/app",
            json!({
                "vhosts": r#"{"/": {"configure": ".*", "write": ".*", "read": ".*"}}"#,
                "vhost_topics": r#"{"/": {"amq.topic": {"write": "^a", "read": ".*"}}}"#,
                "bogus": 1,
            }),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(r.warnings[0].contains("bogus"), "{:?}", r.warnings);
        call(
            &b,
            Operation::Update,
            "roles/mon",
            json!({"tags": "monitoring"}),
        )
        .await
        .unwrap();
        let read = call(&b, Operation::Read, "roles/app", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Value::Object(read.data.unwrap()),
            json!({
                "tags": "",
                "vhosts": {"/": {"configure": ".*", "write": ".*", "read": ".*"}},
                "vhost_topics": {"/": {"amq.topic": {"write": "^a", "read": ".*"}}},
            })
        );
        let read = call(&b, Operation::Read, "roles/mon", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Value::Object(read.data.unwrap()),
            json!({"tags": "monitoring", "vhosts": {}, "vhost_topics": {}})
        );
        let list = call(&b, Operation::List, "roles/", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(list.data.unwrap()["keys"], json!(["app", "mon"]));
        call(&b, Operation::Delete, "roles/mon", json!({}))
            .await
            .unwrap();
        assert!(
            call(&b, Operation::Read, "roles/mon", json!({}))
                .await
                .unwrap()
                .is_none()
        );
        // Names follow Vault's generic name pattern.
        assert_eq!(
            kind(call(&b, Operation::Read, "roles/-bad-", json!({})).await),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn creds_need_a_role_and_a_connection() {
        let b = engine();
        call(
            &b,
            Operation::Update,
            "roles/r",
            json!({"tags": "management"}),
        )
        .await
        .unwrap();
        let e = call(&b, Operation::Read, "creds/r", json!({}))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(e.message.contains("not configured"), "{}", e.message);
        configure_offline(&b, json!({})).await;
        assert_eq!(
            kind(call(&b, Operation::Read, "creds/nope", json!({})).await),
            ErrorKind::InvalidRequest
        );
        // Creds are read, as in OpenBao.
        assert_eq!(
            kind(call(&b, Operation::Update, "creds/r", json!({})).await),
            ErrorKind::UnsupportedOperation
        );
    }

    #[tokio::test]
    async fn unreachable_management_api_is_a_server_error_without_the_password() {
        let b = engine();
        // A closed port on loopback.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let uri = format!("http://127.0.0.1:{port}");
        let e = call(
            &b,
            Operation::Update,
            "config/connection",
            json!({"connection_uri": uri, "username": "admin", "password": "hunter2-admin-secret"}),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        configure_offline(&b, json!({"connection_uri": uri})).await;
        call(
            &b,
            Operation::Update,
            "roles/r",
            json!({"tags": "management"}),
        )
        .await
        .unwrap();
        let e = call(&b, Operation::Read, "creds/r", json!({}))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Internal);
        assert!(e.message.contains("could not connect"), "{}", e.message);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }

    #[tokio::test]
    async fn passwords_follow_the_policy() {
        let b = engine();
        let p = b.generate_password("").await.unwrap();
        assert_eq!(p.len(), 36);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        let p = b.generate_password("digits").await.unwrap();
        assert_eq!(p.len(), 20);
        assert!(p.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(
            b.generate_password("absent").await.unwrap_err().kind,
            ErrorKind::InvalidRequest
        );
    }

    // ---- against the machine's RabbitMQ (management plugin on 127.0.0.1:15672) ----------

    fn management_up() -> bool {
        let ok = std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], 15672)),
            Duration::from_secs(2),
        )
        .is_ok();
        if !ok {
            arca_test_support::require_or_skip(
                "the RabbitMQ management API is not reachable on 127.0.0.1:15672",
            );
        }
        ok
    }

    fn guest() -> Management {
        Management::new(MGMT, "guest", Zeroizing::new("guest".to_owned())).unwrap()
    }

    #[tokio::test]
    async fn creds_create_a_user_with_its_permissions_and_revoke_deletes_it() {
        if !management_up() {
            return;
        }
        let b = engine();
        configure_offline(
            &b,
            json!({"username": "guest", "password": "guest", "verify_connection": true,
                   "username_template": "arca-unit-{{ .RoleName }}-{{ random 10 }}",
                   "password_policy": "digits"}),
        )
        .await;
        call(
            &b,
            Operation::Update,
            "roles/unit",
            json!({
                "tags": "monitoring",
                "vhosts": r#"{"/": {"configure": "^arca-unit-.*", "write": ".*", "read": ".*"}}"#,
                "vhost_topics": r#"{"/": {"amq.topic": {"write": "^x", "read": "^y"}}}"#,
            }),
        )
        .await
        .unwrap();
        call(
            &b,
            Operation::Update,
            "config/lease",
            json!({"ttl": 60, "max_ttl": 120}),
        )
        .await
        .unwrap();
        let r = call(&b, Operation::Read, "creds/unit", json!({}))
            .await
            .unwrap()
            .unwrap();
        let data = r.data.unwrap();
        let user = data["username"].as_str().unwrap().to_owned();
        assert!(user.starts_with("arca-unit-unit-"), "{user}");
        let pw = data["password"].as_str().unwrap();
        assert!(pw.len() == 20 && pw.chars().all(|c| c.is_ascii_digit()));
        let secret = r.secret.unwrap();
        assert_eq!(secret.ttl, Duration::from_secs(60));
        assert_eq!(secret.max_ttl, Duration::from_secs(120));
        assert!(secret.renewable);
        assert_eq!(secret.internal_data["username"], user.as_str());

        let http = reqwest::Client::new();
        let get = |path: String| {
            let http = http.clone();
            async move {
                http.get(format!("{MGMT}/api/{path}"))
                    .basic_auth("guest", Some("guest"))
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let u = get(format!("users/{user}")).await;
        assert_eq!(u["tags"], json!(["monitoring"]), "{u}");
        let p = get(format!("permissions/%2F/{user}")).await;
        assert_eq!(p["configure"], "^arca-unit-.*", "{p}");
        let t = get(format!("topic-permissions/%2F/{user}")).await;
        assert_eq!(t[0]["exchange"], "amq.topic", "{t}");
        assert_eq!(t[0]["write"], "^x");

        let renewed = b
            .renew(&Request::new("t", Operation::Update, ""), &secret)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(renewed.secret.unwrap().ttl, Duration::from_secs(60));

        b.revoke(&Request::new("t", Operation::Update, ""), &secret)
            .await
            .unwrap();
        assert!(!guest().user_names().await.unwrap().contains(&user));
        // Revoking again (a retry after a lost answer) is not an error.
        b.revoke(&Request::new("t", Operation::Update, ""), &secret)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_failure_halfway_deletes_the_new_user() {
        if !management_up() {
            return;
        }
        let b = engine();
        configure_offline(
            &b,
            json!({"username": "guest", "password": "guest",
                   "username_template": "arca-rollback-{{ random 10 }}"}),
        )
        .await;
        // The user is created, then granting on a vhost that does not exist fails.
        call(
            &b,
            Operation::Update,
            "roles/broken",
            json!({"vhosts": r#"{"arca-no-such-vhost": {"configure": ".*", "write": ".*", "read": ".*"}}"#}),
        )
        .await
        .unwrap();
        let e = call(&b, Operation::Read, "creds/broken", json!({}))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Internal, "{e:?}");
        assert!(e.message.contains("vhost permissions"), "{}", e.message);
        let left: Vec<String> = guest()
            .user_names()
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.starts_with("arca-rollback-"))
            .collect();
        assert!(left.is_empty(), "half-created users left: {left:?}");
    }
}
