//! Rendering a logical response into Vault's JSON envelope. Used by the HTTP layer for
//! every answer and by the core to store wrapped responses.

use crate::{Auth, Response};
use arca_types::envelope::{ResponseEnvelope, is_legacy_top_level};
use serde_json::{Map, Value, json};

/// The `auth` block as clients read it (`auth.client_token`, `lease_duration`, ...).
pub fn auth(a: &Auth) -> Value {
    let mut m = Map::new();
    m.insert("client_token".into(), a.client_token.clone().into());
    m.insert("accessor".into(), a.accessor.clone().into());
    m.insert("policies".into(), a.policies.clone().into());
    m.insert("token_policies".into(), a.token_policies.clone().into());
    if !a.identity_policies.is_empty() {
        m.insert(
            "identity_policies".into(),
            a.identity_policies.clone().into(),
        );
    }
    m.insert(
        "metadata".into(),
        if a.metadata.is_empty() {
            Value::Null
        } else {
            json!(a.metadata)
        },
    );
    m.insert("lease_duration".into(), a.ttl.as_secs().into());
    m.insert("renewable".into(), a.renewable.into());
    m.insert("entity_id".into(), a.entity_id.clone().into());
    m.insert("token_type".into(), a.token_type.as_str().into());
    m.insert("orphan".into(), a.orphan.into());
    m.insert("mfa_requirement".into(), Value::Null);
    m.insert("num_uses".into(), a.num_uses.into());
    Value::Object(m)
}

/// The whole envelope, with the legacy top-level copy of `data` where old clients read it.
pub fn envelope(request_id: &str, path: &str, resp: Response) -> Map<String, Value> {
    if let Some(w) = &resp.wrap_info {
        // A wrapped response shows only the wrapping token; its request id is "".
        let info = json!({
            "token": w.token,
            "accessor": w.accessor,
            "ttl": w.ttl.as_secs(),
            "creation_time": w.creation_time,
            "creation_path": w.creation_path,
            "wrapped_accessor": w.wrapped_accessor,
        });
        let env = ResponseEnvelope {
            wrap_info: Some(info),
            ..ResponseEnvelope::default()
        };
        return to_map(&env);
    }
    let (lease_id, lease_duration, renewable) = match &resp.secret {
        Some(s) => (s.lease_id.clone(), s.ttl.as_secs(), s.renewable && s.leased),
        None => (String::new(), 0, false),
    };
    let env = ResponseEnvelope {
        request_id: request_id.to_owned(),
        lease_id,
        renewable,
        lease_duration,
        data: resp.data.clone().map(Value::Object),
        wrap_info: None,
        warnings: (!resp.warnings.is_empty()).then(|| resp.warnings.clone()),
        auth: resp.auth.as_ref().map(auth),
    };
    let mut body = to_map(&env);
    if is_legacy_top_level(path)
        && let Some(data) = resp.data
    {
        for (k, v) in data {
            body.entry(k).or_insert(v);
        }
    }
    body
}

fn to_map(env: &ResponseEnvelope) -> Map<String, Value> {
    match serde_json::to_value(env) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}
