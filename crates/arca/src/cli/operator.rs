//! `status` and `operator init|unseal|seal|rotate|key-status|generate-root|rekey|rotate-keys`.

use arca_client::sys::decode_lenient;
use arca_client::{Body, Client, Error, Method};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::format::{columnize, table_output, wrap_at_length};
use super::ui::{FieldSource, Secret, output_data, output_secret, print_raw_field};
use super::{Common, Ctx, expect_args, go_bool, start};

/// `arca status`.
#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    common: Common,
    /// (none)
    #[arg(hide = true)]
    args: Vec<String>,
}

/// `arca operator ...`.
#[derive(Subcommand)]
// Parsed once per process; boxing every variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum OperatorCommand {
    /// Initializes a server
    Init(InitArgs),
    /// Unseals the Arca server
    Unseal(UnsealArgs),
    /// Seals the Arca server
    Seal(PlainArgs),
    /// Rotates the underlying encryption key
    Rotate(PlainArgs),
    /// Provides information about the active encryption key
    #[command(name = "key-status")]
    KeyStatus(PlainArgs),
    /// Generates a new root token
    #[command(name = "generate-root")]
    GenerateRoot(GenerateRootArgs),
    /// Generates new unseal keys (deprecated: use rotate-keys)
    Rekey(RekeyArgs),
    /// Rotates unseal keys or recovery keys
    #[command(name = "rotate-keys")]
    RotateKeys(RekeyArgs),
}

/// A command with only the common flags and no arguments.
#[derive(Args)]
pub struct PlainArgs {
    #[command(flatten)]
    common: Common,
    #[arg(hide = true)]
    args: Vec<String>,
}

/// `operator init` flags.
#[derive(Args)]
pub struct InitArgs {
    #[command(flatten)]
    common: Common,
    /// Print the current initialization status (exit 0 initialized, 2 not).
    #[arg(long = "status", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    status: Option<bool>,
    /// Number of key shares to split the generated root key into.
    #[arg(long = "key-shares", short = 'n', value_name = "int")]
    key_shares: Option<i64>,
    /// Number of key shares required to reconstruct the root key.
    #[arg(long = "key-threshold", short = 't', value_name = "int")]
    key_threshold: Option<i64>,
    /// Comma-separated PGP public key files to encrypt the shares with.
    #[arg(long = "pgp-keys", value_name = "keybase:user1,keybase:user2,...")]
    pgp_keys: Vec<String>,
    /// PGP public key file to encrypt the root token with.
    #[arg(long = "root-token-pgp-key", value_name = "keybase:user")]
    root_token_pgp_key: Option<String>,
    /// Number of recovery key shares (auto unseal only).
    #[arg(long = "recovery-shares", value_name = "int")]
    recovery_shares: Option<i64>,
    /// Recovery key threshold (auto unseal only).
    #[arg(long = "recovery-threshold", value_name = "int")]
    recovery_threshold: Option<i64>,
    /// PGP keys for the recovery shares (auto unseal only).
    #[arg(
        long = "recovery-pgp-keys",
        value_name = "keybase:user1,keybase:user2,..."
    )]
    recovery_pgp_keys: Vec<String>,
    #[arg(hide = true)]
    args: Vec<String>,
}

/// `operator unseal` flags.
#[derive(Args)]
pub struct UnsealArgs {
    #[command(flatten)]
    common: Common,
    /// Discard any previously entered keys to the unseal process.
    #[arg(long = "reset", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    reset: Option<bool>,
    /// Indicate that this share is provided with the intent of a seal migration.
    #[arg(long = "migrate", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    migrate: Option<bool>,
    /// The unseal key share (prompted for when absent; `-` reads stdin).
    args: Vec<String>,
}

/// `operator generate-root` flags.
#[derive(Args)]
pub struct GenerateRootArgs {
    #[command(flatten)]
    common: Common,
    /// Start a root token generation.
    #[arg(long = "init", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    init: Option<bool>,
    /// Reset the root token generation progress.
    #[arg(long = "cancel", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    cancel: Option<bool>,
    /// Print the status of the current attempt.
    #[arg(long = "status", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    status: Option<bool>,
    /// The encoded token to decode (`-` reads stdin).
    #[arg(long = "decode", value_name = "string")]
    decode: Option<String>,
    /// Generate and print a one-time password.
    #[arg(long = "generate-otp", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    generate_otp: Option<bool>,
    /// Operate on recovery operation tokens.
    #[arg(long = "recovery-token", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    recovery_token: Option<bool>,
    /// OTP to use with -decode or -init.
    #[arg(long = "otp", value_name = "string")]
    otp: Option<String>,
    /// PGP key to encrypt the root token with.
    #[arg(long = "pgp-key", value_name = "keybase:user")]
    pgp_key: Option<String>,
    /// Nonce of the attempt.
    #[arg(long = "nonce", value_name = "string")]
    nonce: Option<String>,
    /// The unseal key share (prompted for when absent; `-` reads stdin).
    args: Vec<String>,
}

/// `operator rekey` / `operator rotate-keys` flags.
#[derive(Args)]
pub struct RekeyArgs {
    #[command(flatten)]
    common: Common,
    /// Initialize the rotation.
    #[arg(long = "init", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    init: Option<bool>,
    /// Reset the rotation progress.
    #[arg(long = "cancel", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    cancel: Option<bool>,
    /// Print the status of the current attempt.
    #[arg(long = "status", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    status: Option<bool>,
    /// Number of key shares to split the new root key into.
    #[arg(
        long = "key-shares",
        short = 'n',
        value_name = "int",
        default_value_t = 5
    )]
    key_shares: i64,
    /// Number of key shares required to reconstruct the root key.
    #[arg(
        long = "key-threshold",
        short = 't',
        value_name = "int",
        default_value_t = 3
    )]
    key_threshold: i64,
    /// Nonce value provided at initialization.
    #[arg(long = "nonce", value_name = "string")]
    nonce: Option<String>,
    /// Target: barrier or recovery.
    #[arg(long = "target", value_name = "string", default_value = "barrier")]
    target: String,
    /// The action affects the verification of the current attempt.
    #[arg(long = "verify", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    verify: Option<bool>,
    /// Comma-separated PGP public key files.
    #[arg(long = "pgp-keys", value_name = "keybase:user1,keybase:user2,...")]
    pgp_keys: Vec<String>,
    /// Store a backup of the PGP-encrypted keys.
    #[arg(long = "backup", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    backup: Option<bool>,
    /// Delete any stored backup keys.
    #[arg(long = "backup-delete", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    backup_delete: Option<bool>,
    /// Retrieve the backed-up keys.
    #[arg(long = "backup-retrieve", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    backup_retrieve: Option<bool>,
    /// The current unseal key share (prompted for when absent; `-` reads stdin).
    args: Vec<String>,
}

/// Runs an `operator` subcommand.
pub async fn run(cmd: OperatorCommand) -> i32 {
    let r = match cmd {
        OperatorCommand::Init(a) => init(a).await,
        OperatorCommand::Unseal(a) => unseal(a).await,
        OperatorCommand::Seal(a) => seal(a).await,
        OperatorCommand::Rotate(a) => rotate(a).await,
        OperatorCommand::KeyStatus(a) => key_status(a).await,
        OperatorCommand::GenerateRoot(a) => generate_root(a).await,
        OperatorCommand::Rekey(a) => rekey(a, &REKEY).await,
        OperatorCommand::RotateKeys(a) => rekey(a, &ROTATE_KEYS).await,
    };
    r.unwrap_or_else(|code| code)
}

// ---------------------------------------------------------------------------------------
// status

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The CLI's `SealStatusOutput`: `sys/seal-status` plus `sys/leader`, in Go's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SealStatusOut {
    #[serde(rename = "type")]
    seal_type: String,
    initialized: bool,
    sealed: bool,
    t: u64,
    n: u64,
    progress: u64,
    nonce: String,
    version: String,
    commit_date: String,
    migration: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    cluster_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    cluster_id: String,
    recovery_seal: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    recovery_seal_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    storage_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    build_date: String,
    #[serde(skip_deserializing)]
    ha_enabled: bool,
    #[serde(skip_deserializing, skip_serializing_if = "is_false")]
    is_self: bool,
    #[serde(skip_deserializing, skip_serializing_if = "String::is_empty")]
    active_time: String,
    #[serde(skip_deserializing, skip_serializing_if = "String::is_empty")]
    leader_address: String,
    #[serde(skip_deserializing, skip_serializing_if = "String::is_empty")]
    leader_cluster_address: String,
    #[serde(skip_deserializing, skip_serializing_if = "is_zero")]
    raft_committed_index: u64,
    #[serde(skip_deserializing, skip_serializing_if = "is_zero")]
    raft_applied_index: u64,
}

impl SealStatusOut {
    async fn fetch(client: &Client, status: Value) -> Result<SealStatusOut, String> {
        let mut s: SealStatusOut = decode_lenient(status).map_err(|e| e.to_string())?;
        match client
            .call_json(Method::GET, "sys/leader", &[], Body::Empty)
            .await
        {
            Ok(l) => {
                let b = |k: &str| l.get(k).and_then(Value::as_bool).unwrap_or(false);
                let st = |k: &str| l.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                let n = |k: &str| l.get(k).and_then(Value::as_u64).unwrap_or(0);
                s.ha_enabled = b("ha_enabled");
                s.is_self = b("is_self");
                s.active_time = st("active_time").replace("0001-01-01T00:00:00Z", "");
                s.leader_address = st("leader_address");
                s.leader_cluster_address = st("leader_cluster_address");
                s.raft_committed_index = n("raft_committed_index");
                s.raft_applied_index = n("raft_applied_index");
            }
            // Sealed servers answer 503 here; Vault's CLI reads that as "HA enabled".
            Err(e) if e.to_string().contains("Vault is sealed") => s.ha_enabled = true,
            Err(e) => return Err(format!("Error checking leader status: {e}")),
        }
        Ok(s)
    }

    fn table(&self) -> String {
        let mut out = vec!["Key | Value".to_owned()];
        out.extend(seal_rows(self));
        if self.migration {
            out.push(format!("Seal Migration in Progress | {}", self.migration));
        }
        if !self.version.is_empty() {
            out.push(format!("Version | {}", self.version));
        }
        if !self.commit_date.is_empty() {
            out.push(format!("Commit Date | {}", self.commit_date));
        }
        if !self.storage_type.is_empty() {
            out.push(format!("Storage Type | {}", self.storage_type));
        }
        if !self.cluster_name.is_empty() && !self.cluster_id.is_empty() {
            out.push(format!("Cluster Name | {}", self.cluster_name));
            out.push(format!("Cluster ID | {}", self.cluster_id));
        }
        out.push(format!("HA Enabled | {}", self.ha_enabled));
        if self.ha_enabled && !self.sealed {
            out.push(format!("HA Cluster | {}", self.leader_cluster_address));
            let mode = if self.is_self { "active" } else { "standby" };
            out.push(format!("HA Mode | {mode}"));
            if self.is_self && !self.active_time.is_empty() {
                out.push(format!("Active Since | {}", self.active_time));
            }
            if !self.is_self && !self.leader_address.is_empty() {
                out.push(format!("Active Node Address | {}", self.leader_address));
            }
        }
        if self.raft_committed_index > 0 {
            out.push(format!(
                "Raft Committed Index | {}",
                self.raft_committed_index
            ));
        }
        if self.raft_applied_index > 0 {
            out.push(format!("Raft Applied Index | {}", self.raft_applied_index));
        }
        table_output(&out, "|")
    }
}

fn seal_rows(s: &SealStatusOut) -> Vec<String> {
    let mut out = vec![format!("Seal Type | {}", s.seal_type)];
    let prefix = if s.recovery_seal {
        out.push(format!("Recovery Seal Type | {}", s.recovery_seal_type));
        "Recovery "
    } else {
        ""
    };
    out.push(format!("Initialized | {}", s.initialized));
    out.push(format!("Sealed | {}", s.sealed));
    out.push(format!("Total {prefix}Shares | {}", s.n));
    out.push(format!("Threshold | {}", s.t));
    if s.sealed {
        out.push(format!("Unseal Progress | {}/{}", s.progress, s.t));
        out.push(format!("Unseal Nonce | {}", s.nonce));
    }
    out
}

/// Vault's `OutputSealStatus`.
async fn output_seal_status(ctx: &mut Ctx, client: &Client, status: Value) -> i32 {
    let s = match SealStatusOut::fetch(client, status).await {
        Ok(s) => s,
        Err(e) => {
            ctx.ui.error(&e);
            return 1;
        }
    };
    if ctx.ui.is_table() {
        let t = s.table();
        ctx.ui.output(&t);
        0
    } else {
        output_data(&mut ctx.ui, &s)
    }
}

/// `arca status`: exit 0 unsealed, 2 sealed, 1 on error.
pub async fn status(a: StatusArgs) -> i32 {
    let mut ctx = match start(a.common, false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(code) = expect_args(&mut ctx.ui, &a.args, 0, 0) {
        return code;
    }
    let Ok(mut client) = ctx.client() else {
        return 1;
    };
    client.set_namespace(None);
    let raw = match client
        .call_json(Method::GET, "sys/seal-status", &[], Body::Empty)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            ctx.ui.error(&format!("Error checking seal status: {e}"));
            return 1;
        }
    };
    let sealed = raw.get("sealed").and_then(Value::as_bool).unwrap_or(false);
    if let Some(field) = ctx.field().map(str::to_owned) {
        let s = match SealStatusOut::fetch(&client, raw).await {
            Ok(s) => s,
            Err(e) => {
                ctx.ui.error(&e);
                return 1;
            }
        };
        let mut map = match serde_json::to_value(&s) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        map.insert(
            "ha_mode".to_owned(),
            Value::String(if s.is_self { "active" } else { "standby" }.to_owned()),
        );
        print_raw_field(&mut ctx.ui, FieldSource::Map(&map), &field);
        return if sealed { 2 } else { 0 };
    }
    let code = output_seal_status(&mut ctx, &client, raw).await;
    if sealed { 2 } else { code }
}

// ---------------------------------------------------------------------------------------
// init

/// The CLI's `machineInit`, printed for `-format=json|yaml`.
#[derive(Serialize)]
struct MachineInit {
    unseal_keys_b64: Option<Vec<String>>,
    unseal_keys_hex: Option<Vec<String>>,
    unseal_shares: i64,
    unseal_threshold: i64,
    recovery_keys_b64: Option<Vec<String>>,
    recovery_keys_hex: Option<Vec<String>>,
    recovery_keys_shares: i64,
    recovery_keys_threshold: i64,
    root_token: String,
}

/// The CLI's handling of `-pgp-keys`: comma-separated files holding a base64 or binary
/// public key each, sent base64-encoded. Keybase lookups are not supported.
fn read_pgp_keys(flags: &[String]) -> Result<Option<Vec<String>>, String> {
    use base64::Engine;
    let mut out = Vec::new();
    for entry in flags.iter().flat_map(|f| f.split(',')) {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        if entry.starts_with("keybase:") {
            return Err("keybase PGP key lookups are not supported".to_owned());
        }
        let path = entry.strip_prefix('@').unwrap_or(entry);
        let bytes = std::fs::read(path).map_err(|e| format!("error reading file {path}: {e}"))?;
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        let b64 = base64::engine::general_purpose::STANDARD;
        if b64.decode(&text).is_ok() {
            out.push(text);
        } else {
            out.push(b64.encode(&bytes));
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

async fn init(a: InitArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    if !a.args.is_empty() {
        ctx.ui.error(&format!(
            "Too many arguments (expected 0, got {})",
            a.args.len()
        ));
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    if a.status == Some(true) {
        return Ok(init_status(&mut ctx, &client).await);
    }
    let seal = client
        .call_json(Method::GET, "sys/seal-status", &[], Body::Empty)
        .await
        .map_err(|e| {
            ctx.ui.error(&e.to_string());
            2
        })?;
    let recovery_seal = seal
        .get("recovery_seal")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut shares = a.key_shares.unwrap_or(0);
    let mut threshold = a.key_threshold.unwrap_or(0);
    let (mut rshares, mut rthreshold) = (
        a.recovery_shares.unwrap_or(5),
        a.recovery_threshold.unwrap_or(3),
    );
    if !recovery_seal {
        if shares == 0 {
            shares = 5;
        }
        if threshold == 0 {
            threshold = 3;
        }
        rshares = 0;
        rthreshold = 0;
    }
    let pgp = read_pgp_keys(&a.pgp_keys).map_err(|e| {
        ctx.ui.error(&e);
        1
    })?;
    let rpgp = read_pgp_keys(&a.recovery_pgp_keys).map_err(|e| {
        ctx.ui.error(&e);
        1
    })?;
    let root_pgp = match a.root_token_pgp_key.as_deref() {
        Some(k) if !k.is_empty() => read_pgp_keys(&[k.to_owned()])
            .map_err(|e| {
                ctx.ui.error(&e);
                1
            })?
            .and_then(|v| v.into_iter().next())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let body = json!({
        "secret_shares": shares,
        "secret_threshold": threshold,
        "pgp_keys": pgp,
        "recovery_shares": rshares,
        "recovery_threshold": rthreshold,
        "recovery_pgp_keys": rpgp,
        "root_token_pgp_key": root_pgp,
    });
    let resp = client
        .call_json(Method::PUT, "sys/init", &[], Body::Json(body))
        .await
        .map_err(|e| {
            ctx.ui.error(&format!("Error initializing: {e}"));
            2
        })?;
    let list = |k: &str| -> Option<Vec<String>> {
        resp.get(k).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
    };
    let keys = list("keys");
    let keys_b64 = list("keys_base64");
    let rkeys = list("recovery_keys");
    let rkeys_b64 = list("recovery_keys_base64");
    let root_token = Zeroizing::new(
        resp.get("root_token")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    );
    if !ctx.ui.is_table() {
        let n_keys = keys.as_ref().map_or(0, Vec::len);
        let m = MachineInit {
            unseal_keys_b64: keys_b64,
            unseal_keys_hex: keys,
            unseal_shares: if n_keys == 0 { 1 } else { shares },
            unseal_threshold: if n_keys == 0 { 1 } else { threshold },
            recovery_keys_b64: rkeys_b64,
            recovery_keys_hex: rkeys,
            recovery_keys_shares: rshares,
            recovery_keys_threshold: rthreshold,
            root_token: root_token.to_string(),
        };
        return Ok(output_data(&mut ctx.ui, &m));
    }
    let keys = keys.unwrap_or_default();
    let keys_b64 = keys_b64.unwrap_or_default();
    for (i, k) in keys.iter().enumerate() {
        let shown = if keys_b64.len() == keys.len() {
            &keys_b64[i]
        } else {
            k
        };
        ctx.ui.output(&format!("Unseal Key {}: {shown}", i + 1));
    }
    let rkeys = rkeys.unwrap_or_default();
    let rkeys_b64 = rkeys_b64.unwrap_or_default();
    for (i, k) in rkeys.iter().enumerate() {
        let shown = if rkeys_b64.len() == rkeys.len() {
            &rkeys_b64[i]
        } else {
            k
        };
        ctx.ui.output(&format!("Recovery Key {}: {shown}", i + 1));
    }
    ctx.ui.output("");
    ctx.ui
        .output(&format!("Initial Root Token: {}", root_token.as_str()));
    if keys.is_empty() {
        ctx.ui.output("");
        ctx.ui.output("Success! Vault is initialized");
    } else {
        ctx.ui.output("");
        ctx.ui.output(&wrap_at_length(&format!(
            "Vault initialized with {shares} key shares and a key threshold of {threshold}. \
             Please securely distribute the key shares printed above. When the Vault is \
             re-sealed, restarted, or stopped, you must supply at least {threshold} of these \
             keys to unseal it before it can start servicing requests."
        )));
        ctx.ui.output("");
        ctx.ui.output(&wrap_at_length(&format!(
            "Vault does not store the generated root key. Without at least {threshold} keys \
             to reconstruct the root key, Vault will remain permanently sealed!"
        )));
        ctx.ui.output("");
        ctx.ui.output(&wrap_at_length(
            "It is possible to generate new unseal keys, provided you have a quorum of \
             existing unseal keys shares. See \"arca operator rotate-keys\" for more \
             information.",
        ));
    }
    if !rkeys.is_empty() {
        ctx.ui.output("");
        ctx.ui.output(&wrap_at_length(&format!(
            "Recovery key initialized with {rshares} key shares and a key threshold of \
             {rthreshold}. Please securely distribute the key shares printed above."
        )));
    }
    Ok(0)
}

async fn init_status(ctx: &mut Ctx, client: &Client) -> i32 {
    let inited = match client
        .call_json(Method::GET, "sys/init", &[], Body::Empty)
        .await
    {
        Ok(v) => v
            .get("initialized")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        Err(e) => {
            ctx.ui.error(&format!("Error checking init status: {e}"));
            return 1;
        }
    };
    if ctx.ui.is_table() {
        ctx.ui.output(if inited {
            "Vault is initialized"
        } else {
            "Vault is not initialized"
        });
    } else {
        output_data(&mut ctx.ui, &json!({"Initialized": inited}));
    }
    if inited { 0 } else { 2 }
}

// ---------------------------------------------------------------------------------------
// unseal, seal

/// Reads a secret from the terminal without echo. Fails when stdin is not a terminal, as
/// Vault's CLI does.
pub fn read_hidden() -> Result<Zeroizing<String>, String> {
    use std::io::BufRead;
    use std::os::fd::AsFd;

    use rustix::termios::{LocalModes, OptionalActions, isatty, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    if !isatty(fd) {
        return Err("file descriptor 0 is not a terminal".to_owned());
    }
    let old = tcgetattr(fd).map_err(|e| e.to_string())?;
    let mut quiet = old.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(fd, OptionalActions::Now, &quiet).map_err(|e| e.to_string())?;
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    let _ = tcsetattr(fd, OptionalActions::Now, &old);
    read.map_err(|e| e.to_string())?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

fn prompt_error(what: &str, e: &str) -> String {
    wrap_at_length(&format!(
        "An error occurred attempting to ask for {what}. The raw error message is shown \
         below, but usually this is because you attempted to pipe a value into the command \
         or you are executing outside of a terminal (tty). If you want to pipe the value, \
         pass \"-\" as the argument to read from stdin. The raw error was: {e}"
    ))
}

async fn unseal(a: UnsealArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    let mut key = Zeroizing::new(String::new());
    match a.args.as_slice() {
        [] => {}
        [k] => *key = k.trim().to_owned(),
        more => {
            ctx.ui.error(&format!(
                "Too many arguments (expected 1, got {})",
                more.len()
            ));
            return Err(1);
        }
    }
    let client = ctx.client().map_err(|()| 2)?;
    if a.reset == Some(true) {
        let st = client
            .call_json(
                Method::PUT,
                "sys/unseal",
                &[],
                Body::Json(json!({"reset": true})),
            )
            .await
            .map_err(|e| {
                ctx.ui
                    .error(&format!("Error resetting unseal process: {e}"));
                2
            })?;
        return Ok(output_seal_status(&mut ctx, &client, st).await);
    }
    if key.as_str() == "-" {
        let text = ctx.read_stdin().map_err(|e| {
            ctx.ui.error(&e);
            1
        })?;
        *key = text.trim().to_owned();
    } else if key.is_empty() {
        if ctx.common.non_interactive == Some(true) {
            ctx.ui.error(&wrap_at_length(
                "Refusing to read from stdin with -non-interactive specified; specify unseal \
                 key as an argument to this command",
            ));
            return Err(1);
        }
        ctx.ui.print("Unseal Key (will be hidden): ");
        let read = read_hidden();
        ctx.ui.print("\n");
        match read {
            Ok(k) => *key = k.trim().to_owned(),
            Err(e) => {
                ctx.ui.error(&prompt_error("an unseal key", &e));
                return Err(1);
            }
        }
    }
    let body = json!({"key": key.as_str(), "reset": false, "migrate": a.migrate.unwrap_or(false)});
    let st = client
        .call_json(Method::PUT, "sys/unseal", &[], Body::Json(body))
        .await
        .map_err(|e| {
            ctx.ui.error(&format!("Error unsealing: {e}"));
            2
        })?;
    Ok(output_seal_status(&mut ctx, &client, st).await)
}

async fn seal(a: PlainArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 0, 0)?;
    let client = ctx.client().map_err(|()| 2)?;
    client.seal().await.map_err(|e| {
        ctx.ui.error(&format!("Error sealing: {e}"));
        2
    })?;
    ctx.ui.output("Success! Vault is sealed.");
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// rotate, key-status

/// Go's `time.RFC822` of an RFC 3339 time, in UTC: `02 Jan 06 15:04 MST`.
fn rfc822_utc(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return rfc3339.to_owned();
    };
    let t = t.to_offset(time::UtcOffset::UTC);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02} {} {:02} {:02}:{:02} UTC",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year().rem_euclid(100),
        t.hour(),
        t.minute()
    )
}

async fn print_key_status(ctx: &mut Ctx, client: &Client, success_line: bool) -> Result<i32, i32> {
    let ks = client.key_status().await.map_err(|e| {
        ctx.ui.error(&format!("Error reading key status: {e}"));
        2
    })?;
    if !ctx.ui.is_table() {
        return Ok(output_data(&mut ctx.ui, &ks));
    }
    if success_line {
        ctx.ui.output("Success! Rotated key");
        ctx.ui.output("");
    }
    let rows = vec![
        format!("Key Term | {}", ks.term),
        format!("Install Time | {}", rfc822_utc(&ks.install_time)),
        format!("Encryption Count | {}", ks.encryptions),
    ];
    let t = columnize(&rows, "|");
    ctx.ui.output(&t);
    Ok(0)
}

async fn rotate(a: PlainArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 0, 0)?;
    let client = ctx.client().map_err(|()| 2)?;
    client.rotate_keyring().await.map_err(|e| {
        ctx.ui.error(&format!("Error rotating key: {e}"));
        2
    })?;
    print_key_status(&mut ctx, &client, true).await
}

async fn key_status(a: PlainArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 0, 0)?;
    let client = ctx.client().map_err(|()| 2)?;
    print_key_status(&mut ctx, &client, false).await
}

// ---------------------------------------------------------------------------------------
// generate-root

/// `api.GenerateRootStatusResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct GenRootStatus {
    nonce: String,
    started: bool,
    progress: i64,
    required: i64,
    complete: bool,
    encoded_token: String,
    encoded_root_token: String,
    pgp_fingerprint: String,
    otp: String,
    otp_length: i64,
}

/// Length of a generated OTP when the server does not say (OpenBao's token length plus
/// its `s.` prefix).
const DEFAULT_OTP_LENGTH: usize = 26;

async fn gen_root_call(
    client: &Client,
    base: &str,
    method: Method,
    leaf: &str,
    body: Body,
) -> Result<GenRootStatus, Error> {
    let v = client
        .call_json(method, &format!("{base}/{leaf}"), &[], body)
        .await?;
    let data = match v {
        Value::Object(mut m) => m.remove("data").unwrap_or(Value::Null),
        other => other,
    };
    decode_lenient(data)
}

fn print_gen_root_status(ctx: &mut Ctx, s: &GenRootStatus) -> i32 {
    if !ctx.ui.is_table() {
        return output_data(&mut ctx.ui, s);
    }
    let mut out = vec![
        format!("Nonce | {}", s.nonce),
        format!("Started | {}", s.started),
        format!("Progress | {}/{}", s.progress, s.required),
        format!("Complete | {}", s.complete),
    ];
    if !s.pgp_fingerprint.is_empty() {
        out.push(format!("PGP Fingerprint | {}", s.pgp_fingerprint));
    }
    if !s.encoded_token.is_empty() {
        out.push(format!("Encoded Token | {}", s.encoded_token));
    } else if !s.encoded_root_token.is_empty() {
        out.push(format!("Encoded Root Token | {}", s.encoded_root_token));
    }
    if !s.otp.is_empty() {
        ctx.ui.warn(&wrap_at_length(
            "A One-Time-Password has been generated for you and is shown in the OTP field. \
             You will need this value to decode the resulting root token, so keep it safe.",
        ));
        out.push(format!("OTP | {}", s.otp));
    }
    if s.otp_length != 0 {
        out.push(format!("OTP Length | {}", s.otp_length));
    }
    let t = columnize(&out, "|");
    ctx.ui.output(&t);
    0
}

/// Decodes an encoded root token: base64 (no padding) XOR the OTP.
fn decode_root_token(encoded: &str, otp: &str) -> Result<Zeroizing<String>, String> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let bytes = Zeroizing::new(
        engine
            .decode(encoded.trim().trim_end_matches('='))
            .map_err(|_| "error decoding base64'd token".to_owned())?,
    );
    if bytes.len() != otp.len() {
        return Err("length of byte slices is not equivalent".to_owned());
    }
    let out: Vec<u8> = bytes
        .iter()
        .zip(otp.as_bytes())
        .map(|(a, b)| a ^ b)
        .collect();
    String::from_utf8(out)
        .map(Zeroizing::new)
        .map_err(|_| "decoded token is not valid UTF-8".to_owned())
}

async fn generate_root(a: GenerateRootArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    if a.args.len() > 1 {
        ctx.ui.error(&format!(
            "Too many arguments (expected 0-1, got {})",
            a.args.len()
        ));
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    let base = if a.recovery_token == Some(true) {
        "sys/generate-recovery-token"
    } else {
        "sys/generate-root-token"
    };
    let status_err = |ctx: &mut Ctx, e: Error| {
        ctx.ui
            .error(&format!("Error getting root generation status: {e}"));
        2
    };
    if a.generate_otp == Some(true) {
        let st = match gen_root_call(&client, base, Method::GET, "attempt", Body::Empty).await {
            Ok(s) => s,
            Err(e) => return Err(status_err(&mut ctx, e)),
        };
        let len = usize::try_from(st.otp_length)
            .ok()
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_OTP_LENGTH);
        let otp = arca_crypto::random_base62(len).map_err(|e| {
            ctx.ui.error(&e.to_string());
            2
        })?;
        if ctx.ui.is_table() {
            return Ok(ctx.ui.raw(&otp));
        }
        return Ok(output_data(
            &mut ctx.ui,
            &json!({"otp": otp, "otp_length": otp.len()}),
        ));
    }
    if let Some(encoded) = a.decode.clone().filter(|d| !d.is_empty()) {
        let Some(otp) = a.otp.clone().filter(|o| !o.is_empty()) else {
            ctx.ui.error("Missing otp: use -otp to supply it");
            return Err(1);
        };
        let encoded = if encoded == "-" {
            let text = ctx.read_stdin().map_err(|e| {
                ctx.ui.error(&e);
                1
            })?;
            if text.is_empty() {
                ctx.ui.error(
                    "Missing encoded value. When using -decode=\"-\" value must be passed via stdin.",
                );
                return Err(1);
            }
            text
        } else {
            encoded
        };
        if let Err(e) = gen_root_call(&client, base, Method::GET, "attempt", Body::Empty).await {
            return Err(status_err(&mut ctx, e));
        }
        let token = decode_root_token(&encoded, &otp).map_err(|e| {
            ctx.ui.error(&format!("Error decoding root token: {e}"));
            1
        })?;
        if ctx.ui.is_table() {
            return Ok(ctx.ui.raw(&token));
        }
        return Ok(output_data(&mut ctx.ui, &json!({"token": token.as_str()})));
    }
    if a.cancel == Some(true) {
        client
            .call_json(Method::DELETE, &format!("{base}/attempt"), &[], Body::Empty)
            .await
            .map_err(|e| {
                ctx.ui
                    .error(&format!("Error canceling root token generation: {e}"));
                2
            })?;
        ctx.ui
            .output("Success! Root token generation canceled (if it was started)");
        return Ok(0);
    }
    if a.init == Some(true) {
        let otp = a.otp.clone().unwrap_or_default();
        let pgp = a.pgp_key.clone().unwrap_or_default();
        if !otp.is_empty() && !pgp.is_empty() {
            ctx.ui
                .error("Error initializing: cannot specify both -otp and -pgp-key");
            return Err(1);
        }
        let pgp = if pgp.is_empty() {
            String::new()
        } else {
            read_pgp_keys(&[pgp])
                .map_err(|e| {
                    ctx.ui.error(&e);
                    1
                })?
                .and_then(|v| v.into_iter().next())
                .unwrap_or_default()
        };
        let st = gen_root_call(
            &client,
            base,
            Method::PUT,
            "attempt",
            Body::Json(json!({"otp": otp, "pgp_key": pgp})),
        )
        .await
        .map_err(|e| {
            ctx.ui
                .error(&format!("Error initializing root generation: {e}"));
            2
        })?;
        return Ok(print_gen_root_status(&mut ctx, &st));
    }
    let st = match gen_root_call(&client, base, Method::GET, "attempt", Body::Empty).await {
        Ok(s) => s,
        Err(e) => return Err(status_err(&mut ctx, e)),
    };
    if a.status == Some(true) {
        return Ok(print_gen_root_status(&mut ctx, &st));
    }
    if !st.started {
        ctx.ui.error(&wrap_at_length(
            "No root generation is in progress. Start a root generation by running \"arca \
             operator generate-root -init\".",
        ));
        ctx.ui.warn(&wrap_at_length(&format!(
            "If starting root generation using the OTP method and generating your own OTP, \
             the length of the OTP string needs to be {} characters in length.",
            st.otp_length
        )));
        return Err(1);
    }
    let (key, nonce) = key_and_nonce(
        &mut ctx,
        &a.args,
        a.nonce.as_deref(),
        ("Operation nonce", &st.nonce),
        "Unseal",
    )?;
    let st = gen_root_call(
        &client,
        base,
        Method::PUT,
        "update",
        Body::Json(json!({"key": key.trim(), "nonce": nonce})),
    )
    .await
    .map_err(|e| {
        ctx.ui.error(&format!("Error posting unseal key: {e}"));
        2
    })?;
    Ok(print_gen_root_status(&mut ctx, &st))
}

// ---------------------------------------------------------------------------------------
// rekey / rotate-keys

/// The differences between the deprecated `rekey` (Vault's legacy endpoints) and
/// `rotate-keys` (OpenBao's authenticated ones).
struct Variant {
    command: &'static str,
    legacy: bool,
    noun: &'static str,
    gerund: &'static str,
    nonce_label: &'static str,
    verified: &'static str,
    rekeyed: &'static str,
}

const REKEY: Variant = Variant {
    command: "rekey",
    legacy: true,
    noun: "rekey",
    gerund: "rekeying",
    nonce_label: "Rekey operation nonce",
    verified: "Rekey verification successful. The rekey operation is complete and the new keys are now active.",
    rekeyed: "rekeyed",
};

const ROTATE_KEYS: Variant = Variant {
    command: "rotate-keys",
    legacy: false,
    noun: "rotation",
    gerund: "rotation",
    nonce_label: "rotation nonce",
    verified: "Rotation verification successful. The rotation is complete and the new keys are now active.",
    rekeyed: "rotated",
};

impl Variant {
    fn path(&self, recovery: bool, leaf: &str) -> String {
        match (self.legacy, recovery, leaf) {
            (true, false, "backup") => "sys/rekey/backup".to_owned(),
            (true, true, "backup") => "sys/rekey/recovery-key-backup".to_owned(),
            (true, false, l) => format!("sys/rekey/{l}"),
            (true, true, l) => format!("sys/rekey-recovery-key/{l}"),
            (false, false, l) => format!("sys/rotate/root/{l}"),
            (false, true, l) => format!("sys/rotate/recovery/{l}"),
        }
    }

    async fn call(
        &self,
        client: &Client,
        method: Method,
        path: &str,
        body: Body,
    ) -> Result<Value, Error> {
        let v = client.call_json(method, path, &[], body).await?;
        Ok(match (self.legacy, v) {
            (false, Value::Object(mut m)) => m.remove("data").unwrap_or(Value::Null),
            (_, v) => v,
        })
    }
}

fn is_empty_list(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

/// `api.RotateStatusResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct RekeyStatusOut {
    #[serde(skip_serializing_if = "is_false")]
    complete: bool,
    #[serde(skip_serializing_if = "is_empty_list")]
    keys: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty_list")]
    keys_base64: Option<Vec<String>>,
    nonce: String,
    started: bool,
    t: i64,
    n: i64,
    progress: i64,
    required: i64,
    pgp_fingerprints: Option<Vec<String>>,
    backup: bool,
    verification_required: bool,
    verification_nonce: String,
}

/// `api.RotateUpdateResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct RekeyUpdateOut {
    nonce: String,
    complete: bool,
    keys: Option<Vec<String>>,
    keys_base64: Option<Vec<String>>,
    pgp_fingerprints: Option<Vec<String>>,
    backup: bool,
    verification_required: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    verification_nonce: String,
}

/// `api.RotateVerificationStatusResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct VerifyStatusOut {
    nonce: String,
    started: bool,
    t: i64,
    n: i64,
    progress: i64,
}

/// `api.RotateVerificationUpdateResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct VerifyUpdateOut {
    nonce: String,
    complete: bool,
}

enum AnyStatus {
    Rekey(RekeyStatusOut),
    Verify(VerifyStatusOut),
}

fn print_rotation_status(ctx: &mut Ctx, st: &AnyStatus) -> i32 {
    let mut out = vec!["Key | Value".to_owned()];
    match st {
        AnyStatus::Rekey(s) => {
            out.push(format!("Nonce | {}", s.nonce));
            out.push(format!("Started | {}", s.started));
            if s.started {
                if s.progress == s.required {
                    out.push(format!(
                        "Progress | {}/{} (verification in progress)",
                        s.progress, s.required
                    ));
                } else {
                    out.push(format!("Progress | {}/{}", s.progress, s.required));
                }
                if s.n > 0 {
                    out.push(format!("New Shares | {}", s.n));
                }
                if s.t > 0 {
                    out.push(format!("New Threshold | {}", s.t));
                }
                out.push(format!(
                    "Verification Required | {}",
                    s.verification_required
                ));
                if !s.verification_nonce.is_empty() {
                    out.push(format!("Verification Nonce | {}", s.verification_nonce));
                }
            }
            if let Some(fp) = s.pgp_fingerprints.as_ref().filter(|f| !f.is_empty()) {
                out.push(format!("PGP Fingerprints | [{}]", fp.join(" ")));
                out.push(format!("Backup | {}", s.backup));
            }
        }
        AnyStatus::Verify(s) => {
            out.push(format!("Started | {}", s.started));
            out.push(format!("New Shares | {}", s.n));
            out.push(format!("New Threshold | {}", s.t));
            out.push(format!("Verification Nonce | {}", s.nonce));
            out.push(format!("Verification Progress | {}/{}", s.progress, s.t));
        }
    }
    if ctx.ui.is_table() {
        let t = table_output(&out, "|");
        ctx.ui.output(&t);
        return 0;
    }
    match st {
        AnyStatus::Rekey(s) => output_data(&mut ctx.ui, s),
        AnyStatus::Verify(s) => output_data(&mut ctx.ui, s),
    }
}

fn print_unseal_keys(ctx: &mut Ctx, r: &RekeyUpdateOut) {
    let keys = r.keys.clone().unwrap_or_default();
    let b64 = r.keys_base64.clone().unwrap_or_default();
    let fps = r.pgp_fingerprints.clone().unwrap_or_default();
    for (i, k) in keys.iter().enumerate() {
        let v = if b64.len() == keys.len() { &b64[i] } else { k };
        match fps.get(i) {
            Some(fp) if !fps.is_empty() => {
                ctx.ui
                    .output(&format!("Key {} fingerprint: {fp}; value: {v}", i + 1));
            }
            _ => ctx.ui.output(&format!("Key {}: {v}", i + 1)),
        }
    }
}

async fn rekey(a: RekeyArgs, var: &Variant) -> Result<i32, i32> {
    let mut ctx = start(a.common.clone(), false)?;
    if a.args.len() > 1 {
        ctx.ui.error(&format!(
            "Too many arguments (expected 0-1, got {})",
            a.args.len()
        ));
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    let target = a.target.trim().to_ascii_lowercase();
    let recovery = match target.as_str() {
        "barrier" => false,
        "recovery" | "hsm" => true,
        _ => {
            ctx.ui.error(&format!("Unknown target: {}", a.target));
            return Err(1);
        }
    };
    let key_type = if recovery { "Recovery" } else { "Unseal" };
    let verify = a.verify == Some(true);
    let noun = var.noun;

    if a.backup_delete == Some(true) {
        client
            .call_json(
                Method::DELETE,
                &var.path(recovery, "backup"),
                &[],
                Body::Empty,
            )
            .await
            .map_err(|e| {
                ctx.ui
                    .error(&format!("Error deleting {noun} backed up keys: {e}"));
                2
            })?;
        ctx.ui
            .output("Success! Deleted backed up keys (if they existed)");
        return Ok(0);
    }
    if a.backup_retrieve == Some(true) {
        let v = client
            .call_json(Method::GET, &var.path(recovery, "backup"), &[], Body::Empty)
            .await
            .map_err(|e| {
                ctx.ui
                    .error(&format!("Error retrieving {noun} backed up keys: {e}"));
                2
            })?;
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        let mut m = Map::new();
        m.insert(
            "Nonce".into(),
            data.get("nonce")
                .cloned()
                .unwrap_or(Value::String(String::new())),
        );
        m.insert(
            "Keys".into(),
            data.get("keys").cloned().unwrap_or(Value::Null),
        );
        m.insert(
            "KeysB64".into(),
            data.get("keys_base64").cloned().unwrap_or(Value::Null),
        );
        return Ok(output_secret(&mut ctx.ui, &Secret::with_data(m)));
    }
    if a.cancel == Some(true) {
        let leaf = if verify { "verify" } else { "init" };
        client
            .call_json(Method::DELETE, &var.path(recovery, leaf), &[], Body::Empty)
            .await
            .map_err(|e| {
                ctx.ui.error(&format!("Error canceling {noun}: {e}"));
                2
            })?;
        ctx.ui.output(&format!(
            "Success! Canceled {} (if it was started)",
            var.gerund
        ));
        return Ok(0);
    }
    if a.init == Some(true) {
        let pgp = read_pgp_keys(&a.pgp_keys).map_err(|e| {
            ctx.ui.error(&e);
            1
        })?;
        let has_pgp = pgp.is_some();
        let body = json!({
            "secret_shares": a.key_shares,
            "secret_threshold": a.key_threshold,
            "pgp_keys": pgp,
            "backup": a.backup.unwrap_or(false),
            "require_verification": verify,
        });
        let method = if var.legacy {
            Method::PUT
        } else {
            Method::POST
        };
        let v = var
            .call(
                &client,
                method,
                &var.path(recovery, "init"),
                Body::Json(body),
            )
            .await
            .map_err(|e| {
                ctx.ui.error(&format!("Error initializing {noun}: {e}"));
                2
            })?;
        let st: RekeyStatusOut = decode_lenient(v).map_err(|e| {
            ctx.ui.error(&e.to_string());
            2
        })?;
        let lower = key_type.to_ascii_lowercase();
        if !var.legacy && st.complete {
            if !ctx.ui.is_table() {
                return Ok(output_data(&mut ctx.ui, &st));
            }
            if !has_pgp {
                ctx.ui.warn(&wrap_at_length(&format!(
                    "WARNING! If you lose the keys, there is no recovery. Consider rerunning \
                     this operation and re-initializing with the -pgp-keys flag to protect \
                     the returned {lower} keys along with -backup to allow recovery of the \
                     encrypted keys in case of emergency. You can delete the backed up keys \
                     later using the -delete flag."
                )));
                ctx.ui.output("");
            }
            ctx.ui.output("");
            let upd = RekeyUpdateOut {
                complete: st.complete,
                keys: st.keys.clone(),
                keys_base64: st.keys_base64.clone(),
                backup: st.backup,
                pgp_fingerprints: st.pgp_fingerprints.clone(),
                ..RekeyUpdateOut::default()
            };
            print_unseal_keys(&mut ctx, &upd);
            return rekey_warnings(&mut ctx, &client, var, recovery, &st, &upd).await;
        }
        if ctx.ui.is_table() {
            if st.t == 0 && st.n == 0 {
                ctx.ui.output("");
                ctx.ui
                    .info("Rotating barrier root key using recovery shares.");
                ctx.ui.output("");
                return Ok(print_rotation_status(&mut ctx, &AnyStatus::Rekey(st)));
            }
            if !has_pgp {
                ctx.ui.warn(&wrap_at_length(&format!(
                    "WARNING! If you lose the keys after they are returned, there is no \
                     recovery. Consider canceling this operation and re-initializing with the \
                     -pgp-keys flag to protect the returned {lower} keys along with -backup to \
                     allow recovery of the encrypted keys in case of emergency. You can delete \
                     the stored keys later using the -delete flag."
                )));
                ctx.ui.output("");
            } else if a.backup != Some(true) {
                ctx.ui.warn(&wrap_at_length(&format!(
                    "WARNING! You are using PGP keys for encryption of resulting {lower} keys, \
                     but you did not enable the option to backup the keys to Arca's core. If \
                     you lose the encrypted keys after they are returned, you will not be able \
                     to recover them. Consider canceling this operation and re-running with \
                     -backup to allow recovery of the encrypted unseal keys in case of \
                     emergency. You can delete the backed up keys later using the -delete flag."
                )));
                ctx.ui.output("");
            }
        }
        return Ok(print_rotation_status(&mut ctx, &AnyStatus::Rekey(st)));
    }
    if a.status == Some(true) {
        return rekey_status(&mut ctx, &client, var, recovery, verify).await;
    }

    // Provide a key share.
    let status_leaf = if verify { "verify" } else { "init" };
    let sv = var
        .call(
            &client,
            Method::GET,
            &var.path(recovery, status_leaf),
            Body::Empty,
        )
        .await
        .map_err(|e| {
            ctx.ui.error(&format!("Error getting {noun} status: {e}"));
            2
        })?;
    let started = sv.get("started").and_then(Value::as_bool).unwrap_or(false);
    let current_nonce = sv
        .get("nonce")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !started {
        ctx.ui.error(&wrap_at_length(&format!(
            "No {noun} is in progress. Start a {noun} process by running \"arca operator {} \
             -init\".",
            var.command
        )));
        return Err(1);
    }
    let (key, nonce) = key_and_nonce(
        &mut ctx,
        &a.args,
        a.nonce.as_deref(),
        (var.nonce_label, &current_nonce),
        key_type,
    )?;
    let update_leaf = if verify { "verify" } else { "update" };
    let resp = var
        .call(
            &client,
            Method::PUT,
            &var.path(recovery, update_leaf),
            Body::Json(json!({"key": key.trim(), "nonce": nonce})),
        )
        .await
        .map_err(|e| {
            ctx.ui.error(&format!("Error posting unseal key: {e}"));
            2
        })?;
    if verify {
        let r: VerifyUpdateOut = decode_lenient(resp).map_err(|e| {
            ctx.ui.error(&e.to_string());
            2
        })?;
        if !r.complete {
            return rekey_status(&mut ctx, &client, var, recovery, verify).await;
        }
        ctx.ui.output(&wrap_at_length(var.verified));
        return Ok(0);
    }
    let r: RekeyUpdateOut = decode_lenient(resp).map_err(|e| {
        ctx.ui.error(&e.to_string());
        2
    })?;
    if !r.complete {
        return rekey_status(&mut ctx, &client, var, recovery, verify).await;
    }
    if !ctx.ui.is_table() {
        return Ok(output_data(&mut ctx.ui, &r));
    }
    ctx.ui.output("");
    print_unseal_keys(&mut ctx, &r);
    let st: RekeyStatusOut = decode_lenient(sv).unwrap_or_default();
    rekey_warnings(&mut ctx, &client, var, recovery, &st, &r).await
}

async fn rekey_status(
    ctx: &mut Ctx,
    client: &Client,
    var: &Variant,
    recovery: bool,
    verify: bool,
) -> Result<i32, i32> {
    let leaf = if verify { "verify" } else { "init" };
    let v = var
        .call(client, Method::GET, &var.path(recovery, leaf), Body::Empty)
        .await
        .map_err(|e| {
            ctx.ui.error(&format!(
                "Error reading {} status: {e}",
                var.command.replace("-keys", "")
            ));
            2
        })?;
    let st = if verify {
        AnyStatus::Verify(decode_lenient(v).unwrap_or_default())
    } else {
        AnyStatus::Rekey(decode_lenient(v).unwrap_or_default())
    };
    Ok(print_rotation_status(ctx, &st))
}

async fn rekey_warnings(
    ctx: &mut Ctx,
    client: &Client,
    var: &Variant,
    recovery: bool,
    st: &RekeyStatusOut,
    r: &RekeyUpdateOut,
) -> Result<i32, i32> {
    if r.keys.as_ref().is_none_or(Vec::is_empty) {
        ctx.ui.output("");
        ctx.ui.output(&format!(
            "Barrier root key {} using recovery keys.",
            var.rekeyed
        ));
        return Ok(0);
    }
    if !r.nonce.is_empty() {
        ctx.ui.output("");
        ctx.ui.output(&format!("Operation nonce: {}", r.nonce));
    }
    let cmd = var.command;
    if r.pgp_fingerprints.as_ref().is_some_and(|f| !f.is_empty()) && r.backup {
        ctx.ui.output("");
        if recovery {
            ctx.ui.output(&wrap_at_length(&format!(
                "The encrypted recovery keys are backed up to \"core/recovery-keys-backup\" in \
                 the storage backend. Remove these keys at any time using \"arca operator \
                 {cmd} -backup-delete -target=recovery\". Arca does not automatically remove \
                 these keys."
            )));
        } else {
            ctx.ui.output(&wrap_at_length(&format!(
                "The encrypted unseal keys are backed up to \"core/unseal-keys-backup\" in the \
                 storage backend. Remove these keys at any time using \"arca operator {cmd} \
                 -backup-delete\". Arca does not automatically remove these keys."
            )));
        }
    }
    let (n, t) = (st.n, st.t);
    if st.verification_required {
        ctx.ui.output("");
        let warning_text = if recovery {
            ctx.ui.output(&wrap_at_length(&format!(
                "Arca has created a new recovery key, split into {n} key shares and a key \
                 threshold of {t}. These will not be active until after verification is \
                 complete. Please securely distribute the key shares printed above."
            )));
            "authenticate with"
        } else {
            ctx.ui.output(&wrap_at_length(&format!(
                "Arca has created a new unseal key, split into {n} key shares and a key \
                 threshold of {t}. These will not be active until after verification is \
                 complete. Please securely distribute the key shares printed above. When  Arca \
                 is re-sealed, restarted, or stopped, you must supply at least {t} of these \
                 keys to unseal it before it can start servicing requests."
            )));
            "unseal"
        };
        ctx.ui.output("");
        ctx.ui.warn(&wrap_at_length(&format!(
            "Again, these key shares are _not_ valid until verification is performed. Do not \
             lose or discard your current key shares until after verification is complete or \
             you will be unable to {warning_text} Arca. If you cancel the {} process or seal \
             Arca before verification is complete the new shares will be discarded and the \
             current shares will remain valid.",
            var.noun
        )));
        ctx.ui.output("");
        ctx.ui.warn(&wrap_at_length(
            "The current verification status, including initial nonce, is shown below.",
        ));
        ctx.ui.output("");
        return rekey_status(ctx, client, var, recovery, true).await;
    }
    ctx.ui.output("");
    let what = if recovery { "recovery" } else { "unseal" };
    let mut msg = format!(
        "Arca {what} keys {} to {n} key shares and a key threshold of {t}. Please securely \
         distribute the key shares printed above.",
        var.rekeyed
    );
    if !recovery {
        msg.push_str(&format!(
            " When Arca is re-sealed, restarted, or stopped, you must supply at least {t} of \
             these keys to unseal it before it can start servicing requests."
        ));
    }
    ctx.ui.output(&wrap_at_length(&msg));
    Ok(0)
}

/// The key share and nonce of a `generate-root` or `rekey` update: the key from stdin
/// (`-`), from a hidden prompt (no argument; the operation's nonce is shown as `shown`
/// and used), or the argument itself; the nonce otherwise from `-nonce`, which is then
/// required.
fn key_and_nonce(
    ctx: &mut Ctx,
    args: &[String],
    flag_nonce: Option<&str>,
    shown: (&str, &str),
    key_type: &str,
) -> Result<(Zeroizing<String>, String), i32> {
    let arg = args
        .first()
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let flag_nonce = || flag_nonce.unwrap_or_default().to_owned();
    let (key, nonce) = match arg.as_str() {
        "-" => (
            Zeroizing::new(ctx.read_stdin().map_err(|e| {
                ctx.ui.error(&e);
                1
            })?),
            flag_nonce(),
        ),
        "" => {
            if ctx.common.non_interactive == Some(true) {
                ctx.ui.error(&wrap_at_length(
                    "Refusing to read from stdin with -non-interactive specified; specify \
                     nonce via the -nonce flag",
                ));
                return Err(1);
            }
            let (label, current) = shown;
            ctx.ui.print(&format!("{label}: {current}\n"));
            ctx.ui.print(&format!("{key_type} Key (will be hidden): "));
            let read = read_hidden();
            ctx.ui.print("\n");
            match read {
                Ok(k) => (k, current.to_owned()),
                Err(e) => {
                    let what = format!("the {} key", key_type.to_ascii_lowercase());
                    ctx.ui.error(&prompt_error(&what, &e));
                    return Err(1);
                }
            }
        }
        k => (Zeroizing::new(k.to_owned()), flag_nonce()),
    };
    if nonce.is_empty() {
        ctx.ui
            .error("Missing nonce value: specify it via the -nonce flag");
        return Err(1);
    }
    Ok((key, nonce))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn rfc822() {
        assert_eq!(
            rfc822_utc("2026-11-28T02:25:15.348734246Z"),
            "28 Nov 26 02:25 UTC"
        );
        assert_eq!(
            rfc822_utc("2026-01-05T23:59:00-02:00"),
            "06 Jan 26 01:59 UTC"
        );
    }

    #[test]
    fn root_token_decoding() {
        use base64::Engine;
        let otp = "abcdefghijklmnopqrstuvwxyz";
        let token = "s.0123456789ABCDEFGHIJKLMN";
        let enc: Vec<u8> = token.bytes().zip(otp.bytes()).map(|(a, b)| a ^ b).collect();
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(enc);
        assert_eq!(decode_root_token(&encoded, otp).unwrap().as_str(), token);
        assert!(decode_root_token(&encoded, "short").is_err());
    }

    #[test]
    fn seal_status_table() {
        let s: SealStatusOut = decode_lenient(json!({"type": "shamir", "initialized": true,
            "sealed": true, "t": 3, "n": 5, "progress": 1, "nonce": "abc", "version": "0.0.0",
            "build_date": "x", "migration": false, "recovery_seal": false,
            "storage_type": "embedded"}))
        .unwrap();
        assert_eq!(
            s.table(),
            "Key                Value\n---                -----\nSeal Type          shamir\nInitialized        true\nSealed             true\nTotal Shares       5\nThreshold          3\nUnseal Progress    1/3\nUnseal Nonce       abc\nVersion            0.0.0\nStorage Type       embedded\nHA Enabled         false"
        );
    }
}
