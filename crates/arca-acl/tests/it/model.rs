//! Property test: `Acl::evaluate` and `Acl::capabilities` against a naive reference model of
//! vault-api.md §4.2, written separately from the implementation, on random policies over a
//! small alphabet of path segments (so patterns collide and overlap often).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use arca_acl::{Acl, AclRequest, Operation, Policy, TemplateContext, parse_policy};
use proptest::prelude::*;

// ── The generated world ─────────────────────────────────────────────────────────────────────

const CAPS: [&str; 9] = [
    "create", "read", "update", "patch", "delete", "list", "scan", "sudo", "deny",
];
const KEYS: [&str; 3] = ["k1", "k2", "K3"];
const POLICY_VALUES: [&str; 4] = ["x", "y", "x*", "*y"];
const REQUEST_VALUES: [&str; 5] = ["x", "y", "xy", "z", "yx"];

#[derive(Clone, Debug)]
struct Rule {
    pattern: String,
    caps: BTreeSet<&'static str>,
    /// None: no allowed_parameters. Key → values (empty = any).
    allowed: Option<BTreeMap<String, Vec<&'static str>>>,
    denied: Option<BTreeMap<String, Vec<&'static str>>>,
    required: Vec<&'static str>,
    min_wrap: u64,
    max_wrap: u64,
}

#[derive(Clone, Debug)]
struct World {
    policies: Vec<Vec<Rule>>,
    json: Vec<bool>,
}

#[derive(Clone, Debug)]
struct Request {
    path: String,
    op: Operation,
    /// Key → values; `as_list` says whether they are sent as a JSON list or a comma string.
    data: BTreeMap<&'static str, (Vec<&'static str>, bool)>,
    wrap: Option<u64>,
    sudo: bool,
}

fn pattern() -> impl Strategy<Value = String> {
    let seg = prop_oneof![Just("a"), Just("b"), Just("ab"), Just("+"), Just("")];
    (
        prop::collection::vec(seg, 1..4),
        prop_oneof![Just(""), Just("*"), Just("/*")],
    )
        .prop_map(|(segs, tail)| {
            let mut p = segs.join("/");
            p.push_str(tail);
            // `+*` is a parse error; test the parser's refusal elsewhere.
            p.replace("+*", "+/*")
        })
}

fn param_map() -> impl Strategy<Value = Option<BTreeMap<String, Vec<&'static str>>>> {
    prop::option::weighted(
        0.35,
        prop::collection::btree_map(
            prop_oneof![
                Just("k1".to_owned()),
                Just("k2".to_owned()),
                Just("k3".to_owned()),
                Just("*".to_owned())
            ],
            prop::collection::vec(prop::sample::select(&POLICY_VALUES[..]), 0..3),
            0..3,
        ),
    )
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        pattern(),
        // Dense capability sets (each granted with p=0.6, deny with p=0.08) so verdicts vary.
        prop::collection::vec(prop::bool::weighted(0.6), 8),
        prop::bool::weighted(0.08),
        param_map(),
        param_map(),
        prop::collection::vec(prop::sample::select(&KEYS[..]), 0..2),
        prop::sample::select(&[0u64, 0, 0, 0, 0, 0, 10, 20][..]),
        prop::sample::select(&[0u64, 0, 0, 0, 0, 0, 20, 30][..]),
    )
        .prop_map(
            |(pattern, grants, deny, allowed, denied, required, min_wrap, max_wrap)| Rule {
                pattern,
                caps: CAPS
                    .iter()
                    .zip(grants.iter().chain([&deny]))
                    .filter(|(_, on)| **on)
                    .map(|(c, _)| *c)
                    .collect(),
                allowed,
                denied,
                required,
                min_wrap,
                // Keep each stanza valid (max >= min); merging can still cross them.
                max_wrap: if max_wrap != 0 && max_wrap < min_wrap {
                    min_wrap
                } else {
                    max_wrap
                },
            },
        )
}

fn world() -> impl Strategy<Value = World> {
    prop::collection::vec((prop::collection::vec(rule(), 1..5), any::<bool>()), 1..4).prop_map(
        |ps| World {
            json: ps.iter().map(|(_, j)| *j).collect(),
            policies: ps.into_iter().map(|(r, _)| r).collect(),
        },
    )
}

fn request() -> impl Strategy<Value = Request> {
    let seg = prop_oneof![Just("a"), Just("b"), Just("ab"), Just("abc"), Just("")];
    let op = prop::sample::select(
        &[
            Operation::Read,
            Operation::Create,
            Operation::Update,
            Operation::Patch,
            Operation::Delete,
            Operation::List,
            Operation::Scan,
            Operation::Renew,
        ][..],
    );
    (
        prop::collection::vec(seg, 1..5),
        any::<bool>(),
        op,
        prop::collection::btree_map(
            prop::sample::select(&["k1", "k2", "K3", "k3", "other"][..]),
            (
                prop::collection::vec(prop::sample::select(&REQUEST_VALUES[..]), 1..3),
                any::<bool>(),
            ),
            0..3,
        ),
        prop::sample::select(&[None, Some(5u64), Some(15), Some(20), Some(25), Some(35)][..]),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(segs, slash, op, data, wrap, sudo)| {
            let mut path = segs.join("/");
            if slash {
                path.push('/');
            }
            Request {
                path,
                op,
                data,
                wrap,
                sudo,
            }
        })
}

// ── Rendering the world as policy text (HCL or JSON) ───────────────────────────────────────

fn hcl(rules: &[Rule]) -> String {
    let list = |v: &[&str]| {
        format!(
            "[{}]",
            v.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let map = |m: &BTreeMap<String, Vec<&str>>| {
        let items: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{k:?} = {}", list(v)))
            .collect();
        format!("{{ {} }}", items.join(", "))
    };
    let mut out = String::new();
    for r in rules {
        let caps: Vec<&str> = r.caps.iter().copied().collect();
        out.push_str(&format!(
            "path {:?} {{\n  capabilities = {}\n",
            r.pattern,
            list(&caps)
        ));
        if let Some(a) = &r.allowed {
            out.push_str(&format!("  allowed_parameters = {}\n", map(a)));
        }
        if let Some(d) = &r.denied {
            out.push_str(&format!("  denied_parameters = {}\n", map(d)));
        }
        if !r.required.is_empty() {
            out.push_str(&format!("  required_parameters = {}\n", list(&r.required)));
        }
        if r.min_wrap > 0 {
            out.push_str(&format!("  min_wrapping_ttl = \"{}s\"\n", r.min_wrap));
        }
        if r.max_wrap > 0 {
            out.push_str(&format!("  max_wrapping_ttl = {}\n", r.max_wrap));
        }
        out.push_str("}\n");
    }
    out
}

fn json(rules: &[Rule]) -> String {
    let stanzas: Vec<serde_json::Value> = rules
        .iter()
        .map(|r| {
            let mut body = serde_json::json!({ "capabilities": r.caps.iter().collect::<Vec<_>>() });
            if let Some(a) = &r.allowed {
                body["allowed_parameters"] = serde_json::json!(a);
            }
            if let Some(d) = &r.denied {
                body["denied_parameters"] = serde_json::json!(d);
            }
            if !r.required.is_empty() {
                body["required_parameters"] = serde_json::json!(r.required);
            }
            if r.min_wrap > 0 {
                body["min_wrapping_ttl"] = serde_json::json!(format!("{}s", r.min_wrap));
            }
            if r.max_wrap > 0 {
                body["max_wrapping_ttl"] = serde_json::json!(r.max_wrap);
            }
            serde_json::json!({ r.pattern.clone(): body })
        })
        .collect();
    // The list form keeps repeated patterns apart.
    serde_json::json!({ "path": stanzas }).to_string()
}

fn build(world: &World) -> Acl {
    let policies: Vec<Policy> = world
        .policies
        .iter()
        .zip(&world.json)
        .enumerate()
        .map(|(i, (rules, as_json))| {
            let text = if *as_json { json(rules) } else { hcl(rules) };
            parse_policy(&format!("p{i}"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
        })
        .collect();
    let refs: Vec<&Policy> = policies.iter().collect();
    Acl::new(&refs, &TemplateContext::default()).unwrap()
}

fn request_data(
    req: &Request,
    force_list: Option<bool>,
) -> serde_json::Map<String, serde_json::Value> {
    req.data
        .iter()
        .map(|(k, (values, as_list))| {
            let v = if force_list.unwrap_or(*as_list) {
                serde_json::json!(values)
            } else {
                serde_json::json!(values.join(","))
            };
            ((*k).to_owned(), v)
        })
        .collect()
}

fn run(acl: &Acl, req: &Request, force_list: Option<bool>) -> bool {
    let data = request_data(req, force_list);
    acl.evaluate(&AclRequest {
        path: &req.path,
        operation: req.op,
        data: Some(&data),
        wrap_ttl: req.wrap.map(Duration::from_secs),
        sudo_required: req.sudo,
    })
    .allowed
}

// ── The reference model ─────────────────────────────────────────────────────────────────────

/// One merged pattern.
#[derive(Clone, Debug, Default)]
struct Merged {
    caps: BTreeSet<&'static str>,
    allowed: BTreeMap<String, Option<BTreeSet<&'static str>>>,
    denied: BTreeMap<String, Option<BTreeSet<&'static str>>>,
    required: BTreeSet<&'static str>,
    min_wrap: u64,
    max_wrap: u64,
}

fn smaller_nonzero(a: u64, b: u64) -> u64 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (x, y) => x.min(y),
    }
}

fn merge_params(
    into: &mut BTreeMap<String, Option<BTreeSet<&'static str>>>,
    from: &BTreeMap<String, Vec<&'static str>>,
) {
    for (k, vs) in from {
        let k = k.to_lowercase();
        let new = if vs.is_empty() {
            None
        } else {
            Some(vs.iter().copied().collect::<BTreeSet<_>>())
        };
        let merged = match (into.get(&k), new) {
            (None, n) => n,
            (Some(None), _) | (Some(Some(_)), None) => None,
            (Some(Some(old)), Some(n)) => Some(old.union(&n).copied().collect()),
        };
        into.insert(k, merged);
    }
}

/// §4.2 step 1: identical pattern strings merge; deny takes over.
fn merge_world(world: &World) -> BTreeMap<String, Merged> {
    let mut out: BTreeMap<String, Merged> = BTreeMap::new();
    for rules in &world.policies {
        for r in rules {
            // One leading `/` of a pattern is not part of it.
            let pattern = r.pattern.strip_prefix('/').unwrap_or(&r.pattern);
            let m = out.entry(pattern.to_owned()).or_default();
            if m.caps.contains("deny") {
                continue;
            }
            if r.caps.contains("deny") {
                m.caps = BTreeSet::from(["deny"]);
                m.allowed.clear();
                m.denied.clear();
                continue;
            }
            m.caps.extend(r.caps.iter().copied());
            if let Some(a) = &r.allowed {
                merge_params(&mut m.allowed, a);
            }
            if let Some(d) = &r.denied {
                merge_params(&mut m.denied, d);
            }
            m.required.extend(r.required.iter().copied());
            m.min_wrap = smaller_nonzero(m.min_wrap, r.min_wrap);
            m.max_wrap = smaller_nonzero(m.max_wrap, r.max_wrap);
        }
    }
    out
}

fn has_plus(p: &str) -> bool {
    p.split('/').any(|s| s == "+")
}

fn is_exact(p: &str) -> bool {
    !has_plus(p) && !p.ends_with('*')
}

/// Does the non-exact `pattern` match `path`? Written from the prose: a trailing `*` is a
/// prefix glob; `+` is exactly one segment; with both, the part before `*` is a prefix of its
/// segment and anything may follow.
fn non_exact_matches(pattern: &str, path: &str) -> bool {
    let (body, glob) = match pattern.strip_suffix('*') {
        Some(b) => (b, true),
        None => (pattern, false),
    };
    if !has_plus(pattern) {
        return glob && path.starts_with(body);
    }
    let pat: Vec<&str> = body.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    if glob {
        if segs.len() < pat.len() {
            return false;
        }
    } else if segs.len() != pat.len() {
        return false;
    }
    for (i, p) in pat.iter().enumerate() {
        let last = i + 1 == pat.len();
        let ok = *p == "+" || *p == segs[i] || (glob && last && segs[i].starts_with(p));
        if !ok {
            return false;
        }
    }
    true
}

/// §4.2 step 2.2: Greater = higher priority.
fn priority(p1: &str, p2: &str) -> Ordering {
    let first = |p: &str| p.find(['+', '*']).unwrap_or(p.len());
    let globbed = |p: &str| p.ends_with('*');
    let pluses = |p: &str| p.split('/').filter(|s| *s == "+").count();
    let bare = |p: &str| p.trim_end_matches('*').to_owned();
    first(p1)
        .cmp(&first(p2))
        .then_with(|| globbed(p2).cmp(&globbed(p1)))
        .then_with(|| pluses(p2).cmp(&pluses(p1)))
        .then_with(|| bare(p1).len().cmp(&bare(p2).len()))
        .then_with(|| bare(p1).cmp(&bare(p2)))
}

fn best_non_exact<'a>(merged: &'a BTreeMap<String, Merged>, path: &str) -> Option<&'a Merged> {
    merged
        .iter()
        .filter(|(p, _)| !is_exact(p) && non_exact_matches(p, path))
        .max_by(|a, b| priority(a.0, b.0))
        .map(|(_, m)| m)
}

fn reference_lookup<'a>(
    merged: &'a BTreeMap<String, Merged>,
    path: &str,
    listing: bool,
) -> Option<&'a Merged> {
    let path = path.trim_start_matches('/');
    let unslashed = path.strip_suffix('/');
    if let Some(m) = merged.get(path).filter(|_| is_exact(path)) {
        return Some(m);
    }
    if listing {
        let p = unslashed.unwrap_or(path);
        if let Some(m) = merged.get(p).filter(|_| is_exact(p)) {
            return Some(m);
        }
    }
    best_non_exact(merged, path).or_else(|| match unslashed {
        Some(p) if listing => best_non_exact(merged, p),
        _ => None,
    })
}

fn glob(pattern: &str, value: &str) -> bool {
    if pattern.len() >= 2 && pattern.starts_with('*') {
        value.ends_with(&pattern[1..])
    } else if pattern.len() >= 2 && pattern.ends_with('*') {
        value.starts_with(&pattern[..pattern.len() - 1])
    } else {
        pattern == value
    }
}

fn reference_allows(merged: &BTreeMap<String, Merged>, req: &Request) -> bool {
    let listing = matches!(req.op, Operation::List | Operation::Scan);
    let Some(m) = reference_lookup(merged, &req.path, listing) else {
        return false;
    };
    let cap = match req.op {
        Operation::Read => "read",
        Operation::Create => "create",
        Operation::Update | Operation::Renew => "update",
        Operation::Patch => "patch",
        Operation::Delete => "delete",
        Operation::List => "list",
        Operation::Scan => "scan",
        _ => unreachable!(),
    };
    if m.caps.contains("deny") || !m.caps.contains(cap) {
        return false;
    }
    if m.max_wrap > 0 && req.wrap.is_none_or(|w| w > m.max_wrap) {
        return false;
    }
    if m.min_wrap > 0 && req.wrap.is_none_or(|w| w < m.min_wrap) {
        return false;
    }
    if m.min_wrap > 0 && m.max_wrap > 0 && m.max_wrap < m.min_wrap {
        return false;
    }
    if req.sudo && !m.caps.contains("sudo") {
        return false;
    }
    if !matches!(
        req.op,
        Operation::Read | Operation::Create | Operation::Update | Operation::Patch
    ) {
        return true;
    }
    if m.required
        .iter()
        .any(|k| !req.data.contains_key(k.to_lowercase().as_str()))
    {
        return false;
    }
    if req.data.is_empty() {
        return true;
    }
    if !m.denied.is_empty() && m.denied.contains_key("*") {
        return false;
    }
    for (k, (values, _)) in &req.data {
        if let Some(list) = m.denied.get(&k.to_lowercase()) {
            let hit = match list {
                None => true,
                Some(list) => {
                    let whole = values.join(",");
                    list.iter()
                        .any(|p| glob(p, &whole) || values.iter().any(|v| glob(p, v)))
                }
            };
            if hit {
                return false;
            }
        }
    }
    if m.allowed.is_empty() || (m.allowed.len() == 1 && m.allowed.contains_key("*")) {
        return true;
    }
    req.data
        .iter()
        .all(|(k, (values, _))| match m.allowed.get(&k.to_lowercase()) {
            None => m.allowed.contains_key("*"),
            Some(None) => true,
            Some(Some(list)) => values.iter().all(|v| list.iter().any(|p| glob(p, v))),
        })
}

fn reference_capabilities(merged: &BTreeMap<String, Merged>, path: &str) -> Vec<String> {
    match reference_lookup(merged, path, true) {
        Some(m) if !m.caps.contains("deny") && !m.caps.is_empty() => {
            m.caps.iter().map(|c| (*c).to_owned()).collect()
        }
        _ => vec!["deny".to_owned()],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn evaluate_matches_the_reference_model(world in world(), reqs in prop::collection::vec(request(), 1..8)) {
        let acl = build(&world);
        let merged = merge_world(&world);
        for req in &reqs {
            let expected = reference_allows(&merged, req);
            prop_assert_eq!(run(&acl, req, None), expected, "request {:?}\nworld {:#?}", req, merged);
            prop_assert_eq!(acl.capabilities(&req.path), reference_capabilities(&merged, &req.path), "path {}", req.path);
        }
    }

    #[test]
    fn a_value_gets_the_same_verdict_as_a_string_or_a_list(world in world(), reqs in prop::collection::vec(request(), 1..8)) {
        let acl = build(&world);
        for req in &reqs {
            prop_assert_eq!(run(&acl, req, Some(true)), run(&acl, req, Some(false)), "request {:?}", req);
        }
    }
}
