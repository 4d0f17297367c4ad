//! Shared helpers: build an ACL from policy texts and evaluate one request.

use std::time::{Duration, SystemTime};

use arca_acl::{Acl, AclRequest, AclResult, Operation, Policy, TemplateContext, parse_policy};

/// A fixed "now" so expirations and time templates are deterministic (2026-01-01T00:00:00Z).
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// Parses each text as policy `p0`, `p1`, … .
pub fn policies(texts: &[&str]) -> Vec<Policy> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            parse_policy(&format!("p{i}"), t).unwrap_or_else(|e| panic!("policy {i}: {e}"))
        })
        .collect()
}

pub fn acl_with(texts: &[&str], ctx: &TemplateContext) -> Acl {
    let ps = policies(texts);
    let refs: Vec<&Policy> = ps.iter().collect();
    Acl::new_at(&refs, ctx, now()).unwrap()
}

pub fn acl(texts: &[&str]) -> Acl {
    acl_with(texts, &TemplateContext::default())
}

/// A request's knobs; `data` is a JSON object or `null`.
#[derive(Clone, Debug)]
pub struct Req {
    pub path: &'static str,
    pub op: Operation,
    pub data: serde_json::Value,
    pub wrap: Option<u64>,
    pub sudo: bool,
}

impl Req {
    pub fn new(op: Operation, path: &'static str) -> Req {
        Req {
            path,
            op,
            data: serde_json::Value::Null,
            wrap: None,
            sudo: false,
        }
    }
}

pub fn eval(acl: &Acl, req: &Req) -> AclResult {
    let data = req.data.as_object();
    acl.evaluate(&AclRequest {
        path: req.path,
        operation: req.op,
        data,
        wrap_ttl: req.wrap.map(Duration::from_secs),
        sudo_required: req.sudo,
    })
}
