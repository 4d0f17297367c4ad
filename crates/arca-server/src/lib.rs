//! Server wiring: from a configuration to running listeners.
//!
//! [`run`] opens the configured storage, builds the [`arca_core::Core`], performs dev-mode
//! setup, binds every listener (TLS where configured) and serves until the shutdown
//! future completes, then drains requests in flight.
//!
//! Architecture invariant: this crate chooses implementations (which storage backend,
//! which listeners) but contains no request logic; that lives in `arca-core` and
//! `arca-http`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arca_config::{ListenerConfig, ServerConfig, StorageConfig, TlsVersion as CfgTlsVersion};
use arca_core::{Core, CoreConfig, Registry};
use arca_http::tls::{TlsSettings, TlsVersion};
use arca_http::{HttpOptions, router};
use arca_storage::{InMemStorage, Storage};
use arca_storage_redb::{RedbOptions, RedbStorage};
use tokio::net::TcpListener;

mod harden;
mod seal;

pub use harden::harden_process;

/// Environment switch for the durability test's negative control: acknowledge writes
/// before they are committed. Never set it outside that test.
pub const UNSAFE_ACK_ENV: &str = "ARCA_UNSAFE_ACK_BEFORE_COMMIT";

/// The secrets engines and auth methods this build can mount. Explicit: adding a plug-in
/// is a line here.
pub fn builtin_registry() -> Registry {
    let mut r = Registry::new();
    r.register(Arc::new(arca_engine_kv::KvFactory));
    r.register(Arc::new(arca_engine_cubbyhole::CubbyholeFactory));
    r.register(Arc::new(arca_engine_transit::TransitFactory));
    r.register(Arc::new(arca_auth_jwt::JwtFactory::JWT));
    r.register(Arc::new(arca_auth_jwt::JwtFactory::OIDC));
    r.register(Arc::new(arca_auth_cert::CertFactory));
    r.register(Arc::new(arca_engine_rabbitmq::RabbitMqFactory));
    r.register(Arc::new(arca_engine_database::DatabaseFactory));
    r.register(Arc::new(arca_auth_userpass::UserpassFactory));
    r.register(Arc::new(arca_auth_approle::ApproleFactory));
    r
}

/// The `audit "<type>" "<path>" { description, local, options { ... } }` blocks.
fn audit_devices(config: &ServerConfig) -> Result<Vec<arca_core::AuditDeviceConfig>, ServerError> {
    let mut out = Vec::new();
    for block in &config.audits {
        let (Some(device_type), Some(path)) = (block.labels.first(), block.labels.get(1)) else {
            return Err(ServerError::Config(format!(
                "{}: audit blocks need a type and a path",
                block.source
            )));
        };
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let options = match block.body.get("options") {
            Some(serde_json::Value::Object(m)) => {
                m.iter().map(|(k, v)| (k.clone(), text(v))).collect()
            }
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .filter_map(serde_json::Value::as_object)
                .flat_map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))))
                .collect(),
            _ => Default::default(),
        };
        out.push(arca_core::AuditDeviceConfig {
            path: format!("{}/", path.trim_matches('/')),
            device_type: device_type.clone(),
            description: block.body.get("description").map(text).unwrap_or_default(),
            options,
            local: block
                .body
                .get("local")
                .is_some_and(|v| v == &serde_json::Value::Bool(true) || v == "true"),
        });
    }
    Ok(out)
}

/// Command-line options of `arca server`. `Debug` hides the dev root token id.
#[derive(Clone, Default)]
pub struct ServerOptions {
    /// `-config` files or directories, in order.
    pub config_paths: Vec<PathBuf>,
    /// `-dev`: in-memory, initialised, unsealed.
    pub dev: bool,
    /// `-dev-root-token-id`.
    pub dev_root_token_id: Option<String>,
    /// `-dev-listen-address`.
    pub dev_listen_address: Option<String>,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("config_paths", &self.config_paths)
            .field("dev", &self.dev)
            .field(
                "dev_root_token_id",
                &self.dev_root_token_id.as_ref().map(|_| "<redacted>"),
            )
            .field("dev_listen_address", &self.dev_listen_address)
            .finish()
    }
}

/// Why the server could not start. The message names the file or setting at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// Storage could not be opened.
    #[error("storage: {0}")]
    Storage(String),
    /// A listener could not be bound or its TLS configured.
    #[error("listener {address}: {reason}")]
    Listener {
        /// The configured address.
        address: String,
        /// What went wrong.
        reason: String,
    },
    /// The core failed to start.
    #[error("core: {0}")]
    Core(String),
}

/// The resolved configuration, ready to run.
pub struct Prepared {
    config: ServerConfig,
    warnings: Vec<String>,
    dev: bool,
    dev_root_token_id: Option<String>,
}

impl Prepared {
    /// The configured log level, if any.
    pub fn log_level(&self) -> Option<&str> {
        self.config.log_level.as_deref()
    }
    /// Whether memory locking is disabled by the configuration.
    pub fn disable_mlock(&self) -> bool {
        self.config.disable_mlock
    }
}

/// Loads and checks the configuration (files and dev-mode defaults).
pub fn prepare(opts: &ServerOptions) -> Result<Prepared, ServerError> {
    let (mut config, warnings) = if opts.config_paths.is_empty() {
        (ServerConfig::default(), Vec::new())
    } else {
        let loaded = arca_config::load(&opts.config_paths)
            .map_err(|e| ServerError::Config(e.to_string()))?;
        (loaded.config, loaded.warnings)
    };
    if opts.dev {
        // Dev mode: in memory and one plain-HTTP listener unless the files say otherwise.
        let dev_source = arca_config::Location {
            file: PathBuf::from("<dev mode>"),
            line: 0,
        };
        if config.storage.is_none() {
            config.storage = Some(StorageConfig {
                kind: "inmem".to_owned(),
                options: Default::default(),
                source: dev_source.clone(),
            });
        }
        let address = opts
            .dev_listen_address
            .clone()
            .unwrap_or_else(|| "127.0.0.1:8200".to_owned());
        if config.listeners.is_empty() || opts.dev_listen_address.is_some() {
            let mut listener = ListenerConfig::tcp(address, dev_source);
            listener.tls_disable = true;
            config.listeners = vec![listener];
        }
        config.unsafe_allow_api_audit_creation = true;
    }
    if config.storage.is_none() {
        return Err(ServerError::Config(
            "no storage configured: add a storage \"embedded\" { path = \"...\" } block".into(),
        ));
    }
    if config.listeners.is_empty() {
        return Err(ServerError::Config(
            "no listener configured: add a listener \"tcp\" block".into(),
        ));
    }
    Ok(Prepared {
        config,
        warnings,
        dev: opts.dev,
        dev_root_token_id: opts.dev_root_token_id.clone(),
    })
}

/// The storage the core uses, and the embedded database again (when that is the backend) so
/// that the shutdown can close it cleanly: a cleanly closed file reopens without repair.
type OpenedStorage = (Arc<dyn Storage>, Option<Arc<RedbStorage>>);

async fn open_storage(cfg: &StorageConfig) -> Result<OpenedStorage, ServerError> {
    match cfg.kind.as_str() {
        "inmem" => Ok((Arc::new(InMemStorage::new()), None)),
        "embedded" => {
            let path = cfg
                .options
                .get("path")
                .ok_or_else(|| ServerError::Config("storage \"embedded\" needs a path".into()))?;
            let unsafe_ack = std::env::var(UNSAFE_ACK_ENV).is_ok_and(|v| v == "1");
            if unsafe_ack {
                tracing::warn!(
                    "{UNSAFE_ACK_ENV}=1: writes are acknowledged before they are durable (test harness only)"
                );
            }
            let path = PathBuf::from(path);
            let storage = tokio::task::spawn_blocking(move || {
                RedbStorage::open_with(
                    &path,
                    RedbOptions {
                        unsafe_ack_before_commit: unsafe_ack,
                    },
                )
            })
            .await
            .map_err(|e| ServerError::Storage(e.to_string()))?
            .map_err(|e| ServerError::Storage(e.to_string()))?;
            let storage = Arc::new(storage);
            Ok((Arc::clone(&storage) as Arc<dyn Storage>, Some(storage)))
        }
        other => Err(ServerError::Config(format!(
            "unsupported storage type {other}"
        ))),
    }
}

fn http_options(cfg: &ServerConfig, l: &ListenerConfig) -> HttpOptions {
    HttpOptions {
        max_request_size: l
            .max_request_size
            .or(cfg.max_request_size)
            .unwrap_or(arca_http::DEFAULT_MAX_REQUEST_SIZE),
        enable_unauthed_rekey: !l.disable_unauthed_rekey_endpoints,
        enable_unauthed_generate_root: !l.disable_unauthed_generate_root_endpoints,
        max_request_duration: l.max_request_duration.unwrap_or(Duration::from_secs(90)),
        ..HttpOptions::default()
    }
}

fn tls_version(v: CfgTlsVersion) -> TlsVersion {
    match v {
        CfgTlsVersion::Tls12 => TlsVersion::Tls12,
        CfgTlsVersion::Tls13 => TlsVersion::Tls13,
    }
}

fn tls_config(l: &ListenerConfig) -> Result<Option<Arc<rustls::ServerConfig>>, ServerError> {
    if l.tls_disable {
        return Ok(None);
    }
    let err = |reason: String| ServerError::Listener {
        address: l.address.clone(),
        reason,
    };
    let (Some(cert), Some(key)) = (&l.tls_cert_file, &l.tls_key_file) else {
        return Err(err(
            "tls_cert_file and tls_key_file are required unless tls_disable = true".into(),
        ));
    };
    let settings = TlsSettings {
        cert_file: cert.clone(),
        key_file: key.clone(),
        min_version: tls_version(l.tls_min_version),
        max_version: tls_version(l.tls_max_version),
        client_ca_file: l.tls_client_ca_file.clone(),
        require_client_cert: l.tls_require_and_verify_client_cert,
        disable_client_certs: l.tls_disable_client_certs,
    };
    arca_http::tls::server_config(&settings)
        .map(Some)
        .map_err(|e| err(e.to_string()))
}

/// A bound listener, ready to serve.
struct Bound {
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    http: HttpOptions,
    local: SocketAddr,
}

/// Runs the server until `shutdown` completes.
pub async fn run(
    prepared: Prepared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let Prepared {
        config,
        warnings,
        dev,
        dev_root_token_id,
    } = prepared;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let storage_cfg = config
        .storage
        .clone()
        .ok_or_else(|| ServerError::Config("no storage configured".into()))?;
    let (storage, embedded) = open_storage(&storage_cfg).await?;
    let core_config = CoreConfig {
        default_lease_ttl: config
            .default_lease_ttl
            .unwrap_or(CoreConfig::default().default_lease_ttl),
        max_lease_ttl: config
            .max_lease_ttl
            .unwrap_or(CoreConfig::default().max_lease_ttl),
        raw_storage_endpoint: config.raw_storage_endpoint,
        cluster_name: config.cluster_name.clone(),
        audit_devices: audit_devices(&config)?,
        allow_api_audit: config.unsafe_allow_api_audit_creation,
        allow_audit_log_raw: dev,
    };
    // Dev mode initialises itself with one unseal key: it never uses a configured seal.
    let seals = if dev {
        seal::Seals {
            enabled: None,
            disabled: None,
        }
    } else {
        seal::from_config(&config)?
    };
    let core = Core::with_seals(
        storage,
        core_config,
        builtin_registry(),
        seals.enabled.as_ref().map(seal::ConfiguredSeal::wrapper),
        seals.disabled.as_ref().map(seal::ConfiguredSeal::wrapper),
    )
    .await
    .map_err(|e| ServerError::Core(e.to_string()))?;

    // Bind everything before announcing anything, so a bad listener fails the start.
    let mut bound = Vec::new();
    for l in &config.listeners {
        let tls = tls_config(l)?;
        let listener = TcpListener::bind(&l.address)
            .await
            .map_err(|e| ServerError::Listener {
                address: l.address.clone(),
                reason: e.to_string(),
            })?;
        let local = listener.local_addr().map_err(|e| ServerError::Listener {
            address: l.address.clone(),
            reason: e.to_string(),
        })?;
        bound.push(Bound {
            listener,
            tls,
            http: http_options(&config, l),
            local,
        });
    }

    let dev_creds = if dev {
        Some(
            core.dev_setup(dev_root_token_id.as_deref())
                .await
                .map_err(|e| ServerError::Core(e.to_string()))?,
        )
    } else {
        None
    };

    print_banner(&config, &bound, storage_cfg.kind.as_str());
    if let Some(creds) = dev_creds {
        let addr = bound
            .first()
            .map(|b| b.local.to_string())
            .unwrap_or_default();
        print_dev_banner(&addr, &creds);
    }
    println!("==> Arca server started! Log data will stream in below:\n");

    // Auto-unseal in the background: listeners answer (sealed) while the seal is
    // unreachable, and the core retries with backoff.
    let seal_tasks: Vec<tokio::task::JoinHandle<()>> = match &seals.enabled {
        Some(s) => {
            let mut t = vec![tokio::spawn(Arc::clone(&core).auto_unseal_with_retry())];
            t.extend(s.spawn_renewal());
            t
        }
        None => Vec::new(),
    };

    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut tasks = tokio::task::JoinSet::new();
    for b in bound {
        let app = router(Arc::clone(&core), b.http);
        let mut stop = stop_tx.subscribe();
        tasks.spawn(arca_http::serve(b.listener, app, b.tls, async move {
            let _ = stop.recv().await;
        }));
    }
    #[cfg(unix)]
    let reopen = {
        let core = Arc::clone(&core);
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reopening audit devices");
                core.reopen_audit().await;
            }
        })
    };
    shutdown.await;
    #[cfg(unix)]
    reopen.abort();
    tracing::info!("shutting down");
    for t in &seal_tasks {
        t.abort();
    }
    let _ = stop_tx.send(());
    while let Some(res) = tasks.join_next().await {
        if let Ok(Err(e)) = res {
            tracing::error!(error = %e, "listener failed");
        }
    }
    core.shutdown().await;
    // Close the database even if something still holds the core: a file closed cleanly
    // reopens at once, one left open is repaired on the next start.
    if let Some(db) = embedded {
        match tokio::task::spawn_blocking(move || db.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "closing the storage failed"),
            Err(e) => tracing::error!(error = %e, "closing the storage failed"),
        }
    }
    Ok(())
}

fn print_banner(config: &ServerConfig, bound: &[Bound], storage: &str) {
    println!("==> Arca server configuration:\n");
    for b in bound {
        let scheme = if b.tls.is_some() { "https" } else { "http" };
        println!(
            "{:>20}: {scheme}://{}",
            "Api Address",
            config
                .api_addr
                .clone()
                .unwrap_or_else(|| b.local.to_string())
        );
        println!(
            "{:>20}: tcp (addr: \"{}\", tls: \"{}\")",
            "Listener",
            b.local,
            if b.tls.is_some() {
                "enabled"
            } else {
                "disabled"
            }
        );
    }
    println!(
        "{:>20}: {}",
        "Log Level",
        config
            .log_level
            .clone()
            .unwrap_or_else(|| "info".to_owned())
    );
    println!("{:>20}: {storage}", "Storage");
    println!("{:>20}: {}", "Version", arca_core::VERSION);
    println!();
}

fn print_dev_banner(addr: &str, creds: &arca_core::DevCredentials) {
    // The one place the dev unseal key and root token are printed, as Vault's dev mode does.
    println!("WARNING! dev mode is enabled! In this mode, Arca runs entirely in-memory");
    println!("and starts unsealed with a single unseal key. The root token is already");
    println!("authenticated to the CLI, so you can immediately begin using Arca.\n");
    println!("You may need to set the following environment variables:\n");
    println!("    $ export VAULT_ADDR='http://{addr}'");
    println!("    $ export BAO_ADDR='http://{addr}'\n");
    println!("The unseal key and root token are displayed below in case you want to");
    println!("seal/unseal the Vault or re-authenticate.\n");
    println!("Unseal Key: {}", creds.unseal_key.as_str());
    println!("Root Token: {}\n", creds.root_token.as_str());
    println!("Development mode should NOT be used in production installations!\n");
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
