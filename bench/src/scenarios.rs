//! The requests the benchmark drives. To measure another endpoint, add a row to [`SCENARIOS`].

/// HTTP method of a benchmark request; a small enum so the table can be a `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "the write verbs are for the KV and transit scenarios still to come"
)]
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

    #[allow(dead_code, reason = "for the KV and transit scenarios still to come")]
    /// A request with a JSON body, e.g. `Req::with_body(Verb::Put, "/v1/secret/data/k", r#"{"data":{"a":"b"}}"#)`.
    pub const fn with_body(verb: Verb, path: &'static str, body: &'static str) -> Self {
        Req {
            verb,
            path,
            body: Some(body),
            token: false,
        }
    }

    #[allow(dead_code, reason = "for the KV and transit scenarios still to come")]
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
}

/// The dev root token both servers are started with.
pub const ROOT_TOKEN: &str = "bench-root";

// Later scenarios look like:
//   Scenario { name: "kv-put", setup: &[],
//              req: Req::with_body(Verb::Put, "/v1/secret/data/bench", r#"{"data":{"v":"x"}}"#).authed() },
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "sys/health",
        setup: &[],
        req: Req::get("/v1/sys/health"),
    },
    Scenario {
        name: "sys/seal-status",
        setup: &[],
        req: Req::get("/v1/sys/seal-status"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_are_unique_and_paths_are_api_paths() {
        for (i, s) in SCENARIOS.iter().enumerate() {
            assert!(s.req.path.starts_with("/v1/"), "{}", s.name);
            assert!(SCENARIOS[i + 1..].iter().all(|t| t.name != s.name));
        }
    }
}
