//! The `arca` client commands: the Vault/OpenBao CLI's commands, flags, output formats and
//! exit codes (0 success, 1 local/usage error, 2 error from the server or "not found";
//! `status` exits 2 when sealed), on top of `arca-client`.
//!
//! Flags are accepted before or after positional arguments (the Go CLI takes them only
//! before). Messages name Arca where the OpenBao CLI names OpenBao, and `arca` where it
//! names `bao`.

use std::io::Read;
use std::process::ExitCode;

use arca_client::{Client, Config, Token};
use clap::{Args, Subcommand};

pub mod format;
pub mod kvargs;
pub mod ui;

mod audit;
mod kv;
mod logical;
mod mounts;
mod operator;
mod policy;
mod token;

use ui::Ui;

/// Client subcommands, flattened into the binary's command list.
#[derive(Subcommand)]
// Parsed once per process; boxing every variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum ClientCommand {
    /// Print seal and HA status
    Status(operator::StatusArgs),
    /// Perform operator-specific tasks
    #[command(subcommand)]
    Operator(operator::OperatorCommand),
    /// Authenticate locally
    Login(token::LoginArgs),
    /// Interact with tokens
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Interact with policies
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Interact with secrets engines
    #[command(subcommand)]
    Secrets(mounts::SecretsCommand),
    /// Interact with auth methods
    #[command(subcommand)]
    Auth(mounts::AuthCommand),
    /// Read data and retrieves secrets
    Read(logical::ReadArgs),
    /// Write data, configuration, and secrets
    Write(logical::WriteArgs),
    /// List data or secrets
    List(logical::ListArgs),
    /// Delete secrets and configuration
    Delete(logical::DeleteArgs),
    /// Patch data, configuration, and secrets
    Patch(logical::PatchArgs),
    /// Interact with leases
    #[command(subcommand)]
    Lease(mounts::LeaseCommand),
    /// Interact with Arca's Key-Value storage
    #[command(subcommand)]
    Kv(kv::KvCommand),
    /// Prints runtime configurations
    #[command(subcommand)]
    Print(logical::PrintCommand),
    /// Interact with audit devices and audit logs
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// Go's `strconv.ParseBool`, for `-flag=value` booleans.
pub fn go_bool(s: &str) -> Result<bool, String> {
    arca_client::config::parse_go_bool(s)
        .ok_or_else(|| format!("parse error: invalid boolean {s:?}"))
}

/// A Go duration flag: Vault's `ParseDurationSecond` (a bare integer is seconds), plus
/// `system` meaning -1s ("use the system default").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GoDuration {
    /// Nanoseconds; negative for `system`.
    pub nanos: i128,
}

impl GoDuration {
    /// Whole seconds (truncated).
    pub fn secs(self) -> i64 {
        i64::try_from(self.nanos / 1_000_000_000).unwrap_or(i64::MAX)
    }

    /// Go's `time.Duration.String()`.
    pub fn go_string(self) -> String {
        let abs = std::time::Duration::from_nanos(
            u64::try_from(self.nanos.unsigned_abs()).unwrap_or(u64::MAX),
        );
        let s = arca_types::duration::format_duration(abs);
        if self.nanos < 0 { format!("-{s}") } else { s }
    }

    /// The CLI's `ttlToAPI`: empty for zero, `system` for negative, else the Go string.
    pub fn to_api(self) -> String {
        match self.nanos {
            0 => String::new(),
            n if n < 0 => "system".to_owned(),
            _ => self.go_string(),
        }
    }
}

/// Parses a duration flag.
pub fn go_duration(s: &str) -> Result<GoDuration, String> {
    if s == "system" {
        return Ok(GoDuration {
            nanos: -1_000_000_000,
        });
    }
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let d = arca_types::duration::parse_duration(rest).map_err(|e| e.to_string())?;
    let nanos = i128::try_from(d.as_nanos()).unwrap_or(i128::MAX);
    Ok(GoDuration {
        nanos: if neg { -nanos } else { nanos },
    })
}

/// Flags every command accepts: Vault's "HTTP Options" and "Output Options".
#[derive(Args, Clone, Default, Debug)]
pub struct Common {
    /// Address of the Arca server.
    #[arg(long = "address", value_name = "string", help_heading = "HTTP Options")]
    pub address: Option<String>,
    /// Address of the Agent.
    #[arg(
        long = "agent-address",
        value_name = "string",
        help_heading = "HTTP Options"
    )]
    pub agent_address: Option<String>,
    /// PEM-encoded CA certificate to verify the server's certificate.
    #[arg(long = "ca-cert", value_name = "string", help_heading = "HTTP Options")]
    pub ca_cert: Option<String>,
    /// Directory of PEM-encoded CA certificates to verify the server's certificate.
    #[arg(long = "ca-path", value_name = "string", help_heading = "HTTP Options")]
    pub ca_path: Option<String>,
    /// PEM-encoded client certificate for TLS authentication.
    #[arg(
        long = "client-cert",
        value_name = "string",
        help_heading = "HTTP Options"
    )]
    pub client_cert: Option<String>,
    /// PEM-encoded private key matching -client-cert.
    #[arg(
        long = "client-key",
        value_name = "string",
        help_heading = "HTTP Options"
    )]
    pub client_key: Option<String>,
    /// The namespace to use for the command.
    #[arg(
        long = "namespace",
        value_name = "string",
        help_heading = "HTTP Options"
    )]
    pub namespace: Option<String>,
    /// Alias for -namespace.
    #[arg(long = "ns", hide = true)]
    pub ns: Option<String>,
    /// Name to use as the SNI host when connecting via TLS.
    #[arg(
        long = "tls-server-name",
        value_name = "string",
        help_heading = "HTTP Options"
    )]
    pub tls_server_name: Option<String>,
    /// Disable verification of TLS certificates (highly discouraged).
    #[arg(long = "tls-skip-verify", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool, help_heading = "HTTP Options")]
    pub tls_skip_verify: Option<bool>,
    /// Do not follow a redirect response.
    #[arg(long = "disable-redirects", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool, help_heading = "HTTP Options")]
    pub disable_redirects: Option<bool>,
    /// Wraps the response in a cubbyhole token with the requested TTL.
    #[arg(long = "wrap-ttl", value_name = "duration", value_parser = go_duration,
          help_heading = "HTTP Options")]
    pub wrap_ttl: Option<GoDuration>,
    /// Extra HTTP header as key=value (repeatable; X-Vault-* is forbidden).
    #[arg(
        long = "header",
        value_name = "key=value",
        help_heading = "HTTP Options"
    )]
    pub header: Vec<String>,
    /// Never prompt on the terminal.
    #[arg(long = "non-interactive", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool, help_heading = "HTTP Options")]
    pub non_interactive: Option<bool>,
    /// Override a soft-mandatory Sentinel policy (accepted; there are no Sentinel policies).
    #[arg(long = "policy-override", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool, help_heading = "HTTP Options")]
    pub policy_override: Option<bool>,
    /// Print an equivalent cURL command instead of running the request (not supported).
    #[arg(long = "output-curl-string", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool, hide = true)]
    pub output_curl_string: Option<bool>,
    /// Print the policy the request needs instead of running it (not supported).
    #[arg(long = "output-policy", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool, hide = true)]
    pub output_policy: Option<bool>,
    /// Print the output in the given format: table, json, yaml (raw for `read` only).
    #[arg(
        long = "format",
        value_name = "string",
        help_heading = "Output Options"
    )]
    pub format: Option<String>,
    /// Print only the field with the given name.
    #[arg(long = "field", value_name = "string", help_heading = "Output Options")]
    pub field: Option<String>,
    /// Enables additional metadata during some operations.
    #[arg(long = "detailed", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool, help_heading = "Output Options")]
    pub detailed: Option<bool>,
}

fn env_var(suffix: &str) -> Option<String> {
    arca_client::config::read_var(&|k| std::env::var(k).ok(), suffix)
}

/// Per-invocation state: the UI, the common flags, standard input.
pub struct Ctx {
    /// Output sink.
    pub ui: Ui,
    /// Common flags.
    pub common: Common,
    stdin: Box<dyn Read>,
}

impl Ctx {
    fn new(common: Common) -> Ctx {
        let format = common
            .format
            .clone()
            .or_else(|| env_var("FORMAT"))
            .unwrap_or_else(|| "table".to_owned())
            .to_ascii_lowercase();
        let detailed = common.detailed.unwrap_or_else(|| {
            env_var("DETAILED")
                .and_then(|v| arca_client::config::parse_go_bool(&v))
                .unwrap_or(false)
        });
        Ctx {
            ui: Ui::stdio(format, detailed),
            common,
            stdin: Box::new(std::io::stdin()),
        }
    }

    /// Standard input, or nothing with `-non-interactive`.
    pub fn stdin(&mut self) -> &mut dyn Read {
        if self.common.non_interactive == Some(true) {
            self.stdin = Box::new(std::io::empty());
        }
        self.stdin.as_mut()
    }

    /// Reads all of standard input as text.
    pub fn read_stdin(&mut self) -> Result<String, String> {
        let mut buf = String::new();
        self.stdin()
            .read_to_string(&mut buf)
            .map_err(|e| format!("Failed to read from stdin: {e}"))?;
        Ok(buf)
    }

    /// The `-field` flag, if set.
    pub fn field(&self) -> Option<&str> {
        self.common.field.as_deref().filter(|f| !f.is_empty())
    }

    /// The client configuration: environment, then flags; no token helper.
    pub fn config(&self) -> Result<Config, String> {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        let mut c = Config::from_lookup(&|k| std::env::var(k).ok(), home.as_deref())
            .map_err(|e| format!("failed to read environment: {e}"))?;
        let c_ = &self.common;
        if let Some(a) = c_.address.clone().filter(|a| !a.is_empty()) {
            c.address = a;
        }
        if let Some(a) = c_.agent_address.clone().filter(|a| !a.is_empty()) {
            c.address = a;
        }
        if let Some(p) = &c_.ca_cert {
            c.ca_cert = Some(p.into());
        }
        if let Some(p) = &c_.ca_path {
            c.ca_path = Some(p.into());
        }
        if let Some(p) = &c_.client_cert {
            c.client_cert = Some(p.into());
        }
        if let Some(p) = &c_.client_key {
            c.client_key = Some(p.into());
        }
        if let Some(n) = &c_.tls_server_name {
            c.tls_server_name = Some(n.clone()).filter(|n| !n.is_empty());
        }
        if let Some(b) = c_.tls_skip_verify {
            c.tls_skip_verify = b;
        }
        if let Some(b) = c_.disable_redirects {
            c.disable_redirects = b;
        }
        if let Some(w) = c_.wrap_ttl {
            c.wrap_ttl = Some(w.go_string()).filter(|_| w.nanos != 0);
        }
        // -ns wins over -namespace; both over the environment.
        if let Some(ns) = c_.ns.as_ref().or(c_.namespace.as_ref()) {
            c.namespace = Some(canonical_namespace(ns)).filter(|n| !n.is_empty());
        }
        for h in &c_.header {
            let (k, v) = h
                .split_once('=')
                .ok_or_else(|| "missing = in KV pair for -header".to_owned())?;
            c.headers.push((k.to_owned(), v.to_owned()));
        }
        Ok(c)
    }

    /// A client without any token (Vault's `ClientWithoutToken`); errors are printed.
    pub fn client_without_token(&mut self) -> Result<Client, ()> {
        let mut config = match self.config() {
            Ok(c) => c,
            Err(e) => {
                self.ui.error(&e);
                return Err(());
            }
        };
        config.token = None;
        self.build(&config)
    }

    /// A client with the token from the environment or the token helper; errors are
    /// printed.
    pub fn client(&mut self) -> Result<Client, ()> {
        let mut config = match self.config() {
            Ok(c) => c,
            Err(e) => {
                self.ui.error(&e);
                return Err(());
            }
        };
        if let Err(e) = config.resolve_token() {
            self.ui
                .error(&format!("failed to get token from token helper: {e}"));
            return Err(());
        }
        self.build(&config)
    }

    fn build(&mut self, config: &Config) -> Result<Client, ()> {
        Client::new(config).map_err(|e| {
            self.ui.error(&format!("failed to create client: {e}"));
        })
    }

    /// The token the client would use (environment or helper), for `print token`.
    pub fn token(&mut self) -> Result<Option<Token>, ()> {
        self.client().map(|c| c.token().cloned())
    }

    /// Checks the output format: known, and `raw` only where allowed.
    pub fn check_format(&mut self, allow_raw: bool) -> Result<(), i32> {
        for (set, flag) in [
            (self.common.output_curl_string, "-output-curl-string"),
            (self.common.output_policy, "-output-policy"),
        ] {
            if set == Some(true) {
                self.ui.error(&format!("{flag} is not supported by arca"));
                return Err(1);
            }
        }
        let f = self.ui.format.clone();
        if !ui::FORMATS.contains(&f.as_str()) {
            self.ui.error(&format!("Invalid output format: {f}"));
            return Err(1);
        }
        if f == "raw" && !allow_raw {
            self.ui
                .error("This command does not support the -format=raw option.");
            return Err(1);
        }
        Ok(())
    }
}

/// OpenBao's `namespace.Canonicalize`: no leading slash, one trailing slash.
fn canonical_namespace(ns: &str) -> String {
    let t = ns.trim().trim_start_matches('/');
    if t.is_empty() || t == "root" {
        String::new()
    } else if t.ends_with('/') {
        t.to_owned()
    } else {
        format!("{t}/")
    }
}

/// Vault's `sanitizePath`: trimmed, without leading or trailing slashes.
pub fn sanitize_path(s: &str) -> String {
    s.trim()
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_owned()
}

/// Vault's `ensureTrailingSlash`.
pub fn ensure_trailing_slash(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() || s.ends_with('/') {
        s.to_owned()
    } else {
        format!("{s}/")
    }
}

/// Argument-count checks with Vault's messages; `Err` carries the exit code.
pub fn expect_args(ui: &mut Ui, args: &[String], min: usize, max: usize) -> Result<(), i32> {
    let n = args.len();
    let expected = if min == max {
        min.to_string()
    } else {
        format!("{min}-{max}")
    };
    if n < min {
        ui.error(&format!(
            "Not enough arguments (expected {expected}, got {n})"
        ));
        return Err(1);
    }
    if n > max {
        ui.error(&format!(
            "Too many arguments (expected {expected}, got {n})"
        ));
        return Err(1);
    }
    Ok(())
}

/// Runs a client command to completion and returns its exit code.
pub fn run(cmd: ClientCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(dispatch(cmd));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn dispatch(cmd: ClientCommand) -> i32 {
    match cmd {
        ClientCommand::Status(a) => operator::status(a).await,
        ClientCommand::Operator(c) => operator::run(c).await,
        ClientCommand::Login(a) => token::login(a).await,
        ClientCommand::Token(c) => token::run(c).await,
        ClientCommand::Policy(c) => policy::run(c).await,
        ClientCommand::Secrets(c) => mounts::run_secrets(c).await,
        ClientCommand::Auth(c) => mounts::run_auth(c).await,
        ClientCommand::Read(a) => logical::read(a).await,
        ClientCommand::Write(a) => logical::write(a).await,
        ClientCommand::List(a) => logical::list(a).await,
        ClientCommand::Delete(a) => logical::delete(a).await,
        ClientCommand::Patch(a) => logical::patch(a).await,
        ClientCommand::Lease(c) => mounts::run_lease(c).await,
        ClientCommand::Kv(c) => kv::run(c).await,
        ClientCommand::Print(c) => logical::print(c).await,
        ClientCommand::Audit(c) => audit::run(c).await,
    }
}

/// Starts a command: the context, with the format checked.
pub fn start(common: Common, allow_raw: bool) -> Result<Ctx, i32> {
    let mut ctx = Ctx::new(common);
    ctx.check_format(allow_raw)?;
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(go_duration("1h").unwrap().go_string(), "1h0m0s");
        assert_eq!(go_duration("90").unwrap().go_string(), "1m30s");
        assert_eq!(go_duration("0").unwrap().go_string(), "0s");
        assert_eq!(go_duration("system").unwrap().to_api(), "system");
        assert_eq!(go_duration("-5s").unwrap().secs(), -5);
        assert_eq!(GoDuration::default().to_api(), "");
        assert!(go_duration("soon").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(sanitize_path(" /secret/foo/ "), "secret/foo");
        assert_eq!(ensure_trailing_slash("kv"), "kv/");
        assert_eq!(ensure_trailing_slash(""), "");
        assert_eq!(canonical_namespace("/team"), "team/");
        assert_eq!(canonical_namespace(""), "");
    }
}
