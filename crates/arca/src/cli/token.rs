//! `login` (token method) and `token create|lookup|renew|revoke|capabilities`.

use arca_client::{Body, Client, Error, Method, Token};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::format::wrap_at_length;
use super::kvargs;
use super::ui::{FieldSource, Secret, SecretAuth, output_data, output_secret, print_raw_field};
use super::{Common, Ctx, GoDuration, go_bool, go_duration, start};

/// `arca login [TOKEN | -]`.
#[derive(Args)]
pub struct LoginArgs {
    #[command(flatten)]
    common: Common,
    /// Auth method type (only `token` is supported for now).
    #[arg(long = "method", value_name = "string", default_value = "token")]
    method: String,
    /// Path where the auth method is enabled.
    #[arg(long = "path", value_name = "string")]
    path: Option<String>,
    /// Do not store the token in the token helper.
    #[arg(long = "no-store", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    no_store: Option<bool>,
    /// Do not display the token.
    #[arg(long = "no-print", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    no_print: Option<bool>,
    /// Output only the token with no verification (-field=token -no-store).
    #[arg(long = "token-only", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    token_only: Option<bool>,
    /// The token, `-` to read it from stdin, or key=value configuration.
    args: Vec<String>,
}

/// `arca token ...`.
#[derive(Subcommand)]
// Parsed once per process; boxing every variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum TokenCommand {
    /// Create a new token
    Create(TokenCreateArgs),
    /// Display information about a token
    Lookup(TokenLookupArgs),
    /// Renew a token lease
    Renew(TokenRenewArgs),
    /// Revoke a token and its children
    Revoke(TokenRevokeArgs),
    /// Print capabilities of a token on a path
    Capabilities(TokenCapsArgs),
}

/// `token create`.
#[derive(Args)]
pub struct TokenCreateArgs {
    #[command(flatten)]
    common: Common,
    /// Value for the token (root only).
    #[arg(long = "id", value_name = "string")]
    id: Option<String>,
    /// Name to associate with this token.
    #[arg(long = "display-name", value_name = "string")]
    display_name: Option<String>,
    /// Initial TTL.
    #[arg(long = "ttl", value_name = "duration", value_parser = go_duration)]
    ttl: Option<GoDuration>,
    /// Explicit maximum lifetime.
    #[arg(long = "explicit-max-ttl", value_name = "duration", value_parser = go_duration)]
    explicit_max_ttl: Option<GoDuration>,
    /// Periodic token renewal period.
    #[arg(long = "period", value_name = "duration", value_parser = go_duration)]
    period: Option<GoDuration>,
    /// Allow the token to be renewed.
    #[arg(long = "renewable", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    renewable: Option<bool>,
    /// Create the token with no parent.
    #[arg(long = "orphan", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    orphan: Option<bool>,
    /// Detach the "default" policy.
    #[arg(long = "no-default-policy", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    no_default_policy: Option<bool>,
    /// Number of times the token can be used.
    #[arg(long = "use-limit", value_name = "int", default_value_t = 0)]
    use_limit: i64,
    /// Token role to create the token against.
    #[arg(long = "role", value_name = "string")]
    role: Option<String>,
    /// Token type: service or batch.
    #[arg(long = "type", value_name = "string", default_value = "service")]
    token_type: String,
    /// Metadata as key=value (repeatable).
    #[arg(long = "metadata", value_name = "key=value")]
    metadata: Vec<String>,
    /// Policy to attach (repeatable).
    #[arg(long = "policy", value_name = "string")]
    policy: Vec<String>,
    /// Entity alias for the token.
    #[arg(long = "entity-alias", value_name = "string")]
    entity_alias: Option<String>,
    #[arg(hide = true)]
    args: Vec<String>,
}

/// `token lookup`.
#[derive(Args)]
pub struct TokenLookupArgs {
    #[command(flatten)]
    common: Common,
    /// Treat the argument as an accessor.
    #[arg(long = "accessor", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    accessor: Option<bool>,
    /// Token or accessor (default: the current token).
    args: Vec<String>,
}

/// `token renew`.
#[derive(Args)]
pub struct TokenRenewArgs {
    #[command(flatten)]
    common: Common,
    /// Treat the argument as an accessor.
    #[arg(long = "accessor", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    accessor: Option<bool>,
    /// Requested extension.
    #[arg(long = "increment", short = 'i', value_name = "duration", value_parser = go_duration)]
    increment: Option<GoDuration>,
    /// Token or accessor (default: the current token).
    args: Vec<String>,
}

/// `token revoke`.
#[derive(Args)]
pub struct TokenRevokeArgs {
    #[command(flatten)]
    common: Common,
    /// Treat the argument as an accessor.
    #[arg(long = "accessor", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    accessor: Option<bool>,
    /// Revoke the current token.
    #[arg(long = "self", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    self_: Option<bool>,
    /// "orphan" or "path".
    #[arg(long = "mode", value_name = "string")]
    mode: Option<String>,
    /// Token or accessor.
    args: Vec<String>,
}

/// `token capabilities`.
#[derive(Args)]
pub struct TokenCapsArgs {
    #[command(flatten)]
    common: Common,
    /// Optional token, then the path.
    args: Vec<String>,
}

/// Runs a `token` subcommand.
pub async fn run(c: TokenCommand) -> i32 {
    let r = match c {
        TokenCommand::Create(a) => create(a).await,
        TokenCommand::Lookup(a) => lookup(a).await,
        TokenCommand::Renew(a) => renew(a).await,
        TokenCommand::Revoke(a) => revoke(a).await,
        TokenCommand::Capabilities(a) => capabilities(a).await,
    };
    r.unwrap_or_else(|code| code)
}

fn secret_of(
    r: Result<Option<arca_types::envelope::ResponseEnvelope>, Error>,
) -> Result<Secret, Error> {
    r.map(|o| o.map(Secret::from_envelope).unwrap_or_default())
}

async fn create(a: TokenCreateArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    if !a.args.is_empty() {
        ctx.ui.error(&format!(
            "Too many arguments (expected 0, got {})",
            a.args.len()
        ));
        return Err(1);
    }
    let mut renewable = a.renewable.unwrap_or(true);
    if a.token_type == "batch" {
        renewable = false;
    }
    let mut meta = Map::new();
    for kv in &a.metadata {
        let Some((k, v)) = kv.split_once('=') else {
            ctx.ui.error("missing = in KV pair for -metadata");
            return Err(1);
        };
        meta.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    let client = ctx.client().map_err(|()| 2)?;
    let d = |x: Option<GoDuration>| x.unwrap_or_default().go_string();
    // Go's TokenCreateRequest: omitempty fields only when set.
    let mut body = Map::new();
    if let Some(id) = a.id.as_ref().filter(|i| !i.is_empty()) {
        body.insert("id".into(), json!(id));
    }
    if !a.policy.is_empty() {
        body.insert("policies".into(), json!(a.policy));
    }
    if !meta.is_empty() {
        body.insert("meta".into(), Value::Object(meta));
    }
    body.insert("ttl".into(), json!(d(a.ttl)));
    body.insert("explicit_max_ttl".into(), json!(d(a.explicit_max_ttl)));
    body.insert("period".into(), json!(d(a.period)));
    if a.orphan == Some(true) {
        body.insert("no_parent".into(), json!(true));
    }
    if a.no_default_policy == Some(true) {
        body.insert("no_default_policy".into(), json!(true));
    }
    body.insert(
        "display_name".into(),
        json!(a.display_name.clone().unwrap_or_default()),
    );
    body.insert("num_uses".into(), json!(a.use_limit));
    body.insert("renewable".into(), json!(renewable));
    body.insert("type".into(), json!(a.token_type));
    body.insert(
        "entity_alias".into(),
        json!(a.entity_alias.clone().unwrap_or_default()),
    );
    let path = match a.role.as_deref().filter(|r| !r.is_empty()) {
        Some(role) => format!("auth/token/create/{role}"),
        None => "auth/token/create".to_owned(),
    };
    let r = call_secret(&client, Method::POST, &path, Some(Value::Object(body))).await;
    print_answer(&mut ctx, r, "creating")
}

/// Prints a token call's answer: `Error <doing> token: …` (exit 2), the `-field`, or
/// the secret.
fn print_answer(ctx: &mut Ctx, r: Result<Secret, Error>, doing: &str) -> Result<i32, i32> {
    let secret = r.map_err(|e| {
        ctx.ui.error(&format!("Error {doing} token: {e}"));
        2
    })?;
    if let Some(f) = ctx.field().map(str::to_owned) {
        return Ok(print_raw_field(
            &mut ctx.ui,
            FieldSource::Secret(&secret),
            &f,
        ));
    }
    Ok(output_secret(&mut ctx.ui, &secret))
}

/// A call whose answer is a secret (Vault's `ParseSecret` after a raw request).
async fn call_secret(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Secret, Error> {
    let body = body.map_or(Body::Empty, Body::Json);
    let resp = client
        .send(method, path, &[], body)
        .await?
        .error_for_status()?;
    secret_of(arca_client::parse_secret(&resp.body))
}

async fn lookup(a: TokenLookupArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    let accessor = a.accessor == Some(true);
    let token = match (accessor, a.args.len()) {
        (true, 0) => {
            ctx.ui
                .error("Not enough arguments with -accessor (expected 1, got 0)");
            return Err(1);
        }
        (true, n) if n > 1 => {
            ctx.ui.error(&format!(
                "Too many arguments with -accessor (expected 1, got {n})"
            ));
            return Err(1);
        }
        (_, 0) => Zeroizing::new(String::new()),
        (_, 1) => Zeroizing::new(a.args[0].trim().to_owned()),
        (_, n) => {
            ctx.ui
                .error(&format!("Too many arguments (expected 0-1, got {n})"));
            return Err(1);
        }
    };
    let client = ctx.client().map_err(|()| 2)?;
    let r = if token.is_empty() {
        call_secret(&client, Method::GET, "auth/token/lookup-self", None).await
    } else if accessor {
        call_secret(
            &client,
            Method::POST,
            "auth/token/lookup-accessor",
            Some(json!({"accessor": token.as_str()})),
        )
        .await
    } else {
        call_secret(
            &client,
            Method::POST,
            "auth/token/lookup",
            Some(json!({"token": token.as_str()})),
        )
        .await
    };
    print_answer(&mut ctx, r, "looking up")
}

async fn renew(a: TokenRenewArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    let token = match a.args.len() {
        0 => Zeroizing::new(String::new()),
        1 => Zeroizing::new(a.args[0].trim().to_owned()),
        n => {
            ctx.ui
                .error(&format!("Too many arguments (expected 1, got {n})"));
            return Err(1);
        }
    };
    let client = ctx.client().map_err(|()| 2)?;
    let inc = a.increment.unwrap_or_default().secs().max(0);
    let r = if token.is_empty() {
        call_secret(
            &client,
            Method::PUT,
            "auth/token/renew-self",
            Some(json!({"increment": inc})),
        )
        .await
    } else if a.accessor == Some(true) {
        call_secret(
            &client,
            Method::POST,
            "auth/token/renew-accessor",
            Some(json!({"accessor": token.as_str(), "increment": inc})),
        )
        .await
    } else {
        call_secret(
            &client,
            Method::PUT,
            "auth/token/renew",
            Some(json!({"token": token.as_str(), "increment": inc})),
        )
        .await
    };
    let secret = r.map_err(|e| {
        ctx.ui.error(&format!("Error renewing token: {e}"));
        2
    })?;
    Ok(output_secret(&mut ctx.ui, &secret))
}

async fn revoke(a: TokenRevokeArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    let token = Zeroizing::new(
        a.args
            .first()
            .map(|t| t.trim().to_owned())
            .unwrap_or_default(),
    );
    let mode = a.mode.clone().unwrap_or_default();
    let (is_self, accessor) = (a.self_ == Some(true), a.accessor == Some(true));
    if !matches!(mode.as_str(), "" | "orphan" | "path") {
        ctx.ui.error(&format!("Invalid mode: {mode}"));
        return Err(1);
    }
    let n = a.args.len();
    let usage = if is_self && n > 0 {
        Some(format!(
            "Too many arguments with -self (expected 0, got {n})"
        ))
    } else if !is_self && n > 1 {
        Some(format!("Too many arguments (expected 1 or -self, got {n})"))
    } else if !is_self && n < 1 {
        Some(format!(
            "Not enough arguments (expected 1 or -self, got {n})"
        ))
    } else if is_self && accessor {
        Some("Cannot use -self with -accessor!".to_owned())
    } else if is_self && !mode.is_empty() {
        Some("Cannot use -self with -mode!".to_owned())
    } else if accessor && mode == "orphan" {
        Some("Cannot use -accessor with -mode=orphan!".to_owned())
    } else if accessor && mode == "path" {
        Some("Cannot use -accessor with -mode=path!".to_owned())
    } else {
        None
    };
    if let Some(u) = usage {
        ctx.ui.error(&u);
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    let t = token.as_str();
    let r = match (accessor, is_self, mode.as_str()) {
        (false, true, "") => {
            client
                .call_json(Method::PUT, "auth/token/revoke-self", &[], Body::Empty)
                .await
        }
        (false, false, "") => {
            client
                .call_json(
                    Method::PUT,
                    "auth/token/revoke",
                    &[],
                    Body::Json(json!({"token": t})),
                )
                .await
        }
        (false, false, "orphan") => {
            client
                .call_json(
                    Method::PUT,
                    "auth/token/revoke-orphan",
                    &[],
                    Body::Json(json!({"token": t})),
                )
                .await
        }
        (false, false, "path") => {
            client
                .call_json(
                    Method::PUT,
                    &format!("sys/leases/revoke-prefix/{t}"),
                    &[],
                    Body::Empty,
                )
                .await
        }
        _ => {
            client
                .call_json(
                    Method::POST,
                    "auth/token/revoke-accessor",
                    &[],
                    Body::Json(json!({"accessor": t})),
                )
                .await
        }
    };
    r.map_err(|e| {
        ctx.ui.error(&format!("Error revoking token: {e}"));
        2
    })?;
    ctx.ui.output("Success! Revoked token (if it existed)");
    Ok(0)
}

async fn capabilities(a: TokenCapsArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    let (token, path) = match a.args.as_slice() {
        [] => {
            ctx.ui.error("Not enough arguments (expected 1-2, got 0)");
            return Err(1);
        }
        [p] => (String::new(), p.clone()),
        [t, p] => (t.clone(), p.clone()),
        more => {
            ctx.ui.error(&format!(
                "Too many arguments (expected 1-2, got {})",
                more.len()
            ));
            return Err(1);
        }
    };
    let client = ctx.client().map_err(|()| 2)?;
    // Vault's api asks capabilities-self when the token is the client's own (or absent).
    let own = client.token().map(Token::expose).unwrap_or_default();
    let token = Zeroizing::new(if token.is_empty() {
        own.to_owned()
    } else {
        token
    });
    let endpoint = if token.as_str() == own {
        "sys/capabilities-self"
    } else {
        "sys/capabilities"
    };
    let body = json!({"token": token.as_str(), "path": path});
    let r = client
        .send(Method::POST, endpoint, &[], Body::Json(body))
        .await
        .and_then(arca_client::RawResponse::error_for_status)
        .and_then(|r| arca_client::parse_secret(&r.body));
    let secret = match r {
        Ok(Some(env)) => Secret::from_envelope(env),
        Ok(None) => {
            ctx.ui
                .error("Error listing capabilities: data from server response is empty");
            return Err(2);
        }
        Err(e) => {
            ctx.ui.error(&format!("Error listing capabilities: {e}"));
            return Err(2);
        }
    };
    let as_list = |v: Option<&Value>| -> Option<Vec<String>> {
        v.and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
    };
    let mut caps = as_list(secret.get(&path)).unwrap_or_default();
    if caps.is_empty() {
        caps = as_list(secret.get("capabilities")).unwrap_or_default();
    }
    if caps.is_empty() && secret.get(&path).is_none() && secret.get("capabilities").is_none() {
        ctx.ui.error("No capabilities found");
        return Err(1);
    }
    if ctx.ui.is_table() {
        caps.sort();
        ctx.ui.output(&caps.join(", "));
        return Ok(0);
    }
    Ok(output_data(&mut ctx.ui, &caps))
}

// ---------------------------------------------------------------------------------------
// login

/// `arca login`: verifies the token with `auth/token/lookup-self` and stores it in the
/// token helper file.
pub async fn login(a: LoginArgs) -> i32 {
    login_inner(a).await.unwrap_or_else(|code| code)
}

async fn login_inner(a: LoginArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common.clone(), false)?;
    let mut no_store = a.no_store == Some(true);
    let no_print = a.no_print == Some(true);
    let token_only = a.token_only == Some(true);
    if token_only {
        no_store = true;
        ctx.common.field = Some("token".to_owned());
    }
    if no_store && no_print {
        ctx.ui.error(&wrap_at_length(
            "-no-store and -no-print cannot be used together",
        ));
        return Err(1);
    }
    let method = super::sanitize_path(&a.method);
    let method = if method.is_empty() {
        "token".to_owned()
    } else {
        method
    };
    if method != "token" {
        ctx.ui.error(&wrap_at_length(&format!(
            "Unknown auth method: {method}. Use \"arca auth list\" to see the complete list \
             of auth methods. Additionally, some auth methods are only available via the \
             HTTP API."
        )));
        return Err(1);
    }
    let mut args = a.args.clone();
    if let Some(first) = args.first_mut()
        && !first.contains('=')
    {
        *first = format!("token={first}");
    }
    let config = {
        let wants_stdin = args.iter().any(|x| x == "-" || x.ends_with("=-"));
        let mut buf = Vec::new();
        if wants_stdin {
            let _ = std::io::Read::read_to_end(ctx.stdin(), &mut buf);
        }
        let parsed = kvargs::parse_strings(&args, &mut buf.as_slice());
        // The buffer may hold the token.
        zeroize::Zeroize::zeroize(&mut buf);
        parsed.map_err(|e| {
            ctx.ui.error(&format!("Error parsing configuration: {e}"));
            1
        })?
    };
    let get = |k: &str| {
        config
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let lookup = match get("lookup") {
        None => true,
        Some(v) => arca_client::config::parse_go_bool(&v).ok_or_else(|| {
            ctx.ui
                .error("Error authenticating: Failed to parse \"lookup\" as boolean");
            2
        })?,
    };
    let token = match get("token") {
        Some(t) => Zeroizing::new(t),
        None => {
            if ctx.common.non_interactive == Some(true) {
                ctx.ui.error(
                    "Error authenticating: 'token' not supplied and refusing to pull from stdin",
                );
                return Err(2);
            }
            eprint!("Token (will be hidden): ");
            let read = super::operator::read_hidden();
            eprintln!();
            read.map_err(|e| {
                ctx.ui.error(&format!(
                    "Error authenticating: An error occurred attempting to ask for a token. \
                     The raw error message is shown below, but usually this is because you \
                     attempted to pipe a value into the command or you are executing outside \
                     of a terminal (tty). If you want to pipe the value, pass \"-\" as the \
                     argument to read from stdin. The raw error was: {e}"
                ));
                2
            })?
        }
    };
    let token = Token::new(token.trim());
    if token.is_empty() {
        ctx.ui.error(
            "Error authenticating: a token must be passed to auth, please view the help for \
             more information",
        );
        return Err(2);
    }
    let mut client = ctx.client_without_token().map_err(|()| 2)?;
    let secret = if lookup {
        client.set_token(Some(token.clone()));
        client.set_wrap_ttl(None);
        let s = call_secret(&client, Method::GET, "auth/token/lookup-self", None)
            .await
            .map_err(|e| {
                ctx.ui.error(&format!(
                    "Error authenticating: error looking up token: {e}"
                ));
                2
            })?;
        auth_from_lookup(&s)
    } else {
        Secret {
            auth: Some(SecretAuth {
                client_token: token.expose().to_owned(),
                ..SecretAuth::default()
            }),
            ..Secret::default()
        }
    };
    let Some(auth) = &secret.auth else {
        ctx.ui.error("Vault returned an empty secret");
        return Err(2);
    };
    if !no_store {
        let config = ctx.config().map_err(|e| {
            ctx.ui.error(&e);
            1
        })?;
        let Some(helper) = config.token_helper else {
            ctx.ui.error(&wrap_at_length(
                "Error initializing token helper. Please verify that the token helper is \
                 available and properly configured for your system. The error was: no home \
                 directory",
            ));
            return Err(1);
        };
        if let Err(e) = helper.store(&Token::new(auth.client_token.as_str())) {
            ctx.ui.error(&format!("Error storing token: {e}"));
            ctx.ui.error(&format!(
                "{}\n",
                wrap_at_length(
                    "Authentication was successful, but the token was not persisted. The \
                     resulting token is shown below for your records."
                )
            ));
            output_secret(&mut ctx.ui, &secret);
            return Err(2);
        }
        warn_env_token(&mut ctx);
    } else if !token_only {
        ctx.ui.warn(&format!(
            "{}\n",
            wrap_at_length(
                "The token was not stored in token helper. Set the ARCA_TOKEN environment \
                 variable or pass the token below with each request to Arca."
            )
        ));
    }
    if no_print {
        return Ok(0);
    }
    if let Some(f) = ctx.field().map(str::to_owned) {
        return Ok(print_raw_field(
            &mut ctx.ui,
            FieldSource::Secret(&secret),
            &f,
        ));
    }
    if ctx.ui.is_table() {
        ctx.ui.output(&format!(
            "{}\n",
            wrap_at_length(
                "Success! You are now authenticated. The token information displayed below is \
                 already stored in the token helper. You do NOT need to run \"arca login\" \
                 again. Future Arca requests will automatically use this token."
            )
        ));
    }
    Ok(output_secret(&mut ctx.ui, &secret))
}

fn warn_env_token(ctx: &mut super::Ctx) {
    for var in ["ARCA_TOKEN", "VAULT_TOKEN", "BAO_TOKEN"] {
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            ctx.ui.warn(&format!(
                "{}\n",
                wrap_at_length(&format!(
                    "WARNING! The {var} environment variable is set! The value of this \
                     variable will take precedence; if this is unwanted please unset {var} or \
                     update its value accordingly."
                ))
            ));
            return;
        }
    }
}

/// The token method's answer: a lookup-self response presented as an auth response.
fn auth_from_lookup(s: &Secret) -> Secret {
    let str_of = |k: &str| {
        s.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let list_of = |k: &str| -> Option<Vec<String>> {
        s.get(k).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
    };
    let token_policies = list_of("policies");
    let identity_policies = list_of("identity_policies");
    let policies = match (&token_policies, &identity_policies) {
        (None, None) => None,
        (t, i) => Some(
            t.iter()
                .flatten()
                .chain(i.iter().flatten())
                .cloned()
                .collect(),
        ),
    };
    let metadata = s
        .get("metadata")
        .or_else(|| s.get("meta"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    let ttl = s
        .get("ttl")
        .and_then(|v| arca_types::duration::parse_duration_value(v).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let renewable = s
        .get("renewable")
        .and_then(|v| arca_types::field::as_bool(v).ok())
        .unwrap_or(false);
    Secret {
        auth: Some(SecretAuth {
            client_token: str_of("id"),
            accessor: str_of("accessor"),
            policies,
            token_policies,
            identity_policies,
            metadata,
            lease_duration: ttl,
            renewable,
            ..SecretAuth::default()
        }),
        ..Secret::default()
    }
}
