//! The requests the benchmark drives. To measure another endpoint, add a row to [`SCENARIOS`].

/// HTTP method of a benchmark request; a small enum so the table can be a `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code, reason = "DELETE is for scenarios still to come")]
pub enum Verb {
    Get,
    Put,
    Post,
    Delete,
}

impl Verb {
    pub fn method(self) -> http::Method {
        match self {
            Verb::Get => http::Method::GET,
            Verb::Put => http::Method::PUT,
            Verb::Post => http::Method::POST,
            Verb::Delete => http::Method::DELETE,
        }
    }
}

/// One request. `token` sends the dev root token (`X-Vault-Token: bench-root`).
#[derive(Debug, Clone, Copy)]
pub struct Req {
    pub verb: Verb,
    pub path: &'static str,
    pub body: Option<&'static str>,
    pub token: bool,
}

impl Req {
    pub const fn get(path: &'static str) -> Self {
        Req {
            verb: Verb::Get,
            path,
            body: None,
            token: false,
        }
    }

    /// A request with a JSON body, e.g. `Req::with_body(Verb::Put, "/v1/secret/data/k", r#"{"data":{"a":"b"}}"#)`.
    pub const fn with_body(verb: Verb, path: &'static str, body: &'static str) -> Self {
        Req {
            verb,
            path,
            body: Some(body),
            token: false,
        }
    }

    pub const fn authed(self) -> Self {
        Req {
            token: true,
            ..self
        }
    }
}

/// A measured request plus the requests that must succeed once before it (mount an engine, write the key
/// that a read scenario will fetch, ...). Setup runs against each server before its warm-up.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Short label, used in the report and in `--scenarios`.
    pub name: &'static str,
    pub setup: &'static [Req],
    pub req: Req,
    /// Client counts measured by default; `--concurrency` replaces them for every scenario.
    pub clients: &'static [usize],
}

/// The dev root token both servers are started with.
pub const ROOT_TOKEN: &str = "bench-root";

const KV_WRITE: Req =
    Req::with_body(Verb::Put, "/v1/secret/data/bench", r#"{"data":{"v":"x"}}"#).authed();

// Both servers' dev mode mounts `secret/` as KV v2, so the KV rows need no mount step.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "sys/health",
        setup: &[],
        req: Req::get("/v1/sys/health"),
        clients: &[1, 16],
    },
    Scenario {
        name: "sys/seal-status",
        setup: &[],
        req: Req::get("/v1/sys/seal-status"),
        clients: &[1, 16],
    },
    // Token lookup is on the path of every authenticated request: 64 clients show how it scales past
    // the cores.
    Scenario {
        name: "token/lookup-self",
        setup: &[],
        req: Req::get("/v1/auth/token/lookup-self").authed(),
        clients: &[1, 16, 64],
    },
    // Each create writes a token and its lease durably (in memory in dev mode), so the store grows
    // through the run: this is a write path, and peak RSS includes those tokens.
    Scenario {
        name: "token/create",
        setup: &[],
        req: Req::with_body(
            Verb::Post,
            "/v1/auth/token/create",
            r#"{"policies":["default"],"ttl":"1h"}"#,
        )
        .authed(),
        clients: &[1, 16, 64],
    },
    // Every put adds a version of the same key.
    Scenario {
        name: "kv/put",
        setup: &[],
        req: KV_WRITE,
        clients: &[1, 16],
    },
    Scenario {
        name: "kv/get",
        setup: &[KV_WRITE],
        req: Req::get("/v1/secret/data/bench").authed(),
        clients: &[1, 16],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_are_unique_and_paths_are_api_paths() {
        for (i, s) in SCENARIOS.iter().enumerate() {
            assert!(s.req.path.starts_with("/v1/"), "{}", s.name);
            assert!(
                !s.clients.is_empty() && !s.clients.contains(&0),
                "{}",
                s.name
            );
            assert!(SCENARIOS[i + 1..].iter().all(|t| t.name != s.name));
        }
    }
}
