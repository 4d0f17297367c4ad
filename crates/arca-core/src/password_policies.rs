//! `sys/policies/password/*`: named password policies (length and character-set rules)
//! and password generation from them. The generator is `arca-password-policy`, shared with
//! the database engine, which reads named policies through its mount's system view
//! ([`policy_text`]).

use arca_logical::{LogicalError, Operation, Request, Response};
use arca_password_policy::PasswordPolicy;
use arca_storage::{Storage, StorageView};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::policies::decode_policy_text;
use crate::{CoreError, Unsealed};

#[derive(Serialize, Deserialize)]
struct Stored {
    policy: String,
}

const PREFIX: &str = "sys/password_policy/";

fn view(u: &Unsealed) -> StorageView {
    StorageView::new(u.barrier.clone() as std::sync::Arc<dyn Storage>, PREFIX)
}

/// The HCL text of a stored policy, for the mounts' system views (the database engine's
/// `password_policy = "<name>"`). A name that could not have been written is `None`.
pub(crate) async fn policy_text(
    barrier: &std::sync::Arc<dyn Storage>,
    name: &str,
) -> Result<Option<String>, LogicalError> {
    if !valid_name(name) {
        return Ok(None);
    }
    let v = StorageView::new(std::sync::Arc::clone(barrier), PREFIX);
    read(&v, name)
        .await
        .map(|s| s.map(|s| s.policy))
        .map_err(|e| {
            tracing::error!(error = %e, "reading a password policy");
            LogicalError::internal()
        })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Handles `sys/policies/password[/...]`; `None` for other paths.
pub(crate) async fn handle(
    u: &Unsealed,
    path: &str,
    req: &Request,
) -> Option<Result<Response, CoreError>> {
    let rest = path.strip_prefix("policies/password")?;
    Some(dispatch(u, rest.trim_matches('/'), req).await)
}

async fn read(v: &StorageView, name: &str) -> Result<Option<Stored>, CoreError> {
    match v.get(name).await? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|_| CoreError::Corrupt("password policy")),
    }
}

async fn dispatch(u: &Unsealed, rest: &str, req: &Request) -> Result<Response, CoreError> {
    let v = view(u);
    let op = req.operation;
    if rest.is_empty() {
        if op != Operation::List {
            return Err(CoreError::client(LogicalError::unsupported_operation()));
        }
        let keys: Vec<String> = v
            .list("")
            .await?
            .into_iter()
            .filter(|k| !k.ends_with('/'))
            .collect();
        if keys.is_empty() {
            return Ok(Response::default());
        }
        let mut m = Map::new();
        m.insert("keys".into(), keys.into());
        return Ok(Response::with_data(m));
    }
    if let Some(name) = rest.strip_suffix("/generate") {
        if op != Operation::Read {
            return Err(CoreError::client(LogicalError::unsupported_operation()));
        }
        let stored = read(&v, name)
            .await?
            .ok_or_else(|| CoreError::client(LogicalError::not_found()))?;
        let policy = PasswordPolicy::parse(&stored.policy)
            .map_err(|_| CoreError::Corrupt("password policy"))?;
        let password = policy
            .generate()
            .map_err(|e| CoreError::invalid(format!("failed to generate a password: {e}")))?;
        let mut m = Map::new();
        m.insert("password".into(), password.as_str().into());
        return Ok(Response::with_data(m));
    }
    let name = rest;
    if !valid_name(name) {
        return Err(CoreError::invalid("invalid password policy name"));
    }
    match op {
        Operation::Read => match read(&v, name).await? {
            Some(s) => {
                let mut m = Map::new();
                m.insert("policy".into(), s.policy.into());
                Ok(Response::with_data(m))
            }
            None => Err(CoreError::client(LogicalError::not_found())),
        },
        Operation::Create | Operation::Update => {
            let text = req
                .fields()
                .string("policy")?
                .filter(|p| !p.trim().is_empty())
                .ok_or_else(|| CoreError::invalid("missing policy"))?;
            let text = decode_policy_text(&text);
            let policy = PasswordPolicy::parse(&text)
                .map_err(|e| CoreError::invalid(format!("invalid password policy: {e}")))?;
            // A policy that cannot produce a password is refused now, not at first use.
            policy.generate().map_err(|e| {
                CoreError::invalid(format!(
                    "unable to generate password from provided policy: {e}"
                ))
            })?;
            let bytes = serde_json::to_vec(&Stored { policy: text })
                .map_err(|_| CoreError::Corrupt("password policy"))?;
            v.put(name, &bytes).await?;
            Ok(Response::default())
        }
        Operation::Delete => {
            v.delete(name).await?;
            Ok(Response::default())
        }
        _ => Err(CoreError::client(LogicalError::unsupported_operation())),
    }
}
