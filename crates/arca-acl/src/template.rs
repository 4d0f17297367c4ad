//! Identity templating of path patterns (`{{identity.entity.id}}` and friends), with the
//! directive set, the failure cases and the blocked substitutions of OpenBao's ACL mode.
//!
//! A directive that cannot be resolved makes its whole path stanza drop out of the ACL; that is
//! Vault's behaviour and it fails closed (the stanza can only grant).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::parse_util::parse_duration_str;

/// What a token's identity offers to templated policies. Everything is optional: a directive
/// whose value is missing or empty makes its path stanza drop out of the ACL.
///
/// Groups are given as parallel lists: `group_ids[i]` and `group_names[i]` describe the same
/// group. The caller passes the entity's direct and inherited groups in the namespace of the
/// request (OpenBao filters name look-ups by namespace).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateContext {
    /// The token's entity; `None` means the token has no entity, and every
    /// `identity.entity.*` directive fails.
    pub entity_id: Option<String>,
    /// `{{identity.entity.name}}`.
    pub entity_name: Option<String>,
    /// `{{identity.entity.metadata.<key>}}`.
    pub entity_metadata: BTreeMap<String, String>,
    /// `{{identity.entity.aliases.<mount accessor>.name}}`.
    pub alias_names_by_mount_accessor: BTreeMap<String, String>,
    /// `{{identity.entity.aliases.<mount accessor>.id}}`.
    pub alias_ids_by_mount_accessor: BTreeMap<String, String>,
    /// `{{identity.entity.aliases.<mount accessor>.metadata.<key>}}`.
    pub alias_metadata_by_mount_accessor: BTreeMap<String, BTreeMap<String, String>>,
    /// `{{identity.entity.aliases.<mount accessor>.custom_metadata.<key>}}`.
    pub alias_custom_metadata_by_mount_accessor: BTreeMap<String, BTreeMap<String, String>>,
    /// Ids of the entity's groups (parallel to `group_names`).
    pub group_ids: Vec<String>,
    /// Names of the entity's groups (parallel to `group_ids`).
    pub group_names: Vec<String>,
    /// `{{identity.groups.ids.<id>.metadata.<key>}}`, keyed by group id.
    pub group_metadata_by_id: BTreeMap<String, BTreeMap<String, String>>,
}

/// `Err` when the `{{`/`}}` are unbalanced; `Ok(true)` when the string has directives.
pub(crate) fn validate(s: &str) -> Result<bool, ()> {
    let mut pieces = s.split("{{");
    let first = pieces.next().unwrap_or_default();
    if first.contains("}}") {
        return Err(());
    }
    let mut templated = false;
    for piece in pieces {
        templated = true;
        if piece.split("}}").count() != 2 {
            return Err(());
        }
    }
    Ok(templated)
}

/// What substituted values may not contain: `/` unless the policy allows slashes, `*` and `+`
/// unless it allows wildcards (a value must not widen the pattern it lands in).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blocked {
    pub slashes: bool,
    pub wildcards: bool,
}

/// A pattern with its directives substituted.
pub(crate) struct Substituted {
    pub text: String,
    /// A `{{time.*}}` directive was used: the result changes every second.
    pub uses_time: bool,
}

/// Substitutes every directive, or returns `None` when one cannot be resolved.
pub(crate) fn substitute(
    s: &str,
    ctx: &TemplateContext,
    now: SystemTime,
    blocked: Blocked,
) -> Option<Substituted> {
    let mut pieces = s.split("{{");
    let mut out = String::with_capacity(s.len() * 2);
    out.push_str(pieces.next().unwrap_or_default());
    let mut uses_time = false;
    for piece in pieces {
        let (directive, rest) = piece.split_once("}}")?;
        if rest.contains("}}") {
            return None;
        }
        let directive = directive.trim();
        uses_time |= directive.starts_with("time.");
        let value = resolve(directive, ctx, now)?;
        if (blocked.slashes && value.contains('/'))
            || (blocked.wildcards && (value.contains('*') || value.contains('+')))
        {
            return None;
        }
        out.push_str(&value);
        out.push_str(rest);
    }
    Some(Substituted {
        text: out,
        uses_time,
    })
}

/// An empty string counts as "not found", as in OpenBao's ACL mode.
fn non_empty(v: Option<&String>) -> Option<String> {
    v.filter(|s| !s.is_empty()).cloned()
}

fn resolve(directive: &str, ctx: &TemplateContext, now: SystemTime) -> Option<String> {
    if let Some(rest) = directive.strip_prefix("identity.entity.") {
        ctx.entity_id.as_ref()?;
        return resolve_entity(rest, ctx);
    }
    if let Some(rest) = directive.strip_prefix("identity.groups.") {
        if ctx.group_ids.is_empty() && ctx.group_names.is_empty() {
            return None;
        }
        return resolve_group(rest, ctx);
    }
    if let Some(rest) = directive.strip_prefix("time.") {
        return resolve_time(rest, now);
    }
    None
}

fn resolve_entity(rest: &str, ctx: &TemplateContext) -> Option<String> {
    match rest {
        "id" => non_empty(ctx.entity_id.as_ref()),
        "name" => non_empty(ctx.entity_name.as_ref()),
        // Maps and lists are not substitutable in ACL mode.
        "metadata" | "groups.names" | "groups.ids" => None,
        _ => {
            if let Some(key) = rest.strip_prefix("metadata.") {
                return ctx.entity_metadata.get(key).cloned();
            }
            let selector = rest.strip_prefix("aliases.")?;
            let (accessor, field) = selector.split_once('.')?;
            let known = ctx.alias_names_by_mount_accessor.contains_key(accessor)
                || ctx.alias_ids_by_mount_accessor.contains_key(accessor)
                || ctx.alias_metadata_by_mount_accessor.contains_key(accessor)
                || ctx
                    .alias_custom_metadata_by_mount_accessor
                    .contains_key(accessor);
            if !known {
                return None;
            }
            match field {
                "id" => non_empty(ctx.alias_ids_by_mount_accessor.get(accessor)),
                "name" => non_empty(ctx.alias_names_by_mount_accessor.get(accessor)),
                _ => {
                    if let Some(key) = field.strip_prefix("metadata.") {
                        ctx.alias_metadata_by_mount_accessor
                            .get(accessor)?
                            .get(key)
                            .cloned()
                    } else if let Some(key) = field.strip_prefix("custom_metadata.") {
                        ctx.alias_custom_metadata_by_mount_accessor
                            .get(accessor)?
                            .get(key)
                            .cloned()
                    } else {
                        None
                    }
                }
            }
        }
    }
}

fn resolve_group(rest: &str, ctx: &TemplateContext) -> Option<String> {
    let (selector, rest) = rest.split_once('.')?;
    let by_id = match selector {
        "ids" => true,
        "names" => false,
        _ => return None,
    };
    let (key, field) = rest.split_once('.')?;
    let count = ctx.group_ids.len().max(ctx.group_names.len());
    let empty = String::new();
    let index = (0..count).find(|&i| {
        let compare = if by_id {
            ctx.group_ids.get(i)
        } else {
            ctx.group_names.get(i)
        };
        compare.unwrap_or(&empty) == key
    })?;
    let id = ctx.group_ids.get(index).unwrap_or(&empty);
    match field {
        "id" => Some(id.clone()),
        "name" => non_empty(ctx.group_names.get(index)),
        _ => {
            let key = field.strip_prefix("metadata.")?;
            ctx.group_metadata_by_id.get(id)?.get(key).cloned()
        }
    }
}

fn resolve_time(rest: &str, now: SystemTime) -> Option<String> {
    let mut ops = rest.splitn(3, '.');
    if ops.next()? != "now" {
        return None;
    }
    let secs = |t: SystemTime| -> Option<i64> {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).ok(),
            // Before 1970: Go's Unix() floors towards negative infinity.
            Err(e) => {
                let d = e.duration();
                let whole = i64::try_from(d.as_secs()).ok()?;
                Some(if d.subsec_nanos() > 0 {
                    -whole - 1
                } else {
                    -whole
                })
            }
        }
    };
    let result = match (ops.next(), ops.next()) {
        (None, _) => now,
        (Some(_), None) => return None,
        (Some(op), Some(duration)) => {
            let d = parse_duration_str(duration)?;
            match op {
                "plus" => now.checked_add(d)?,
                "minus" => now.checked_sub(d)?,
                _ => return None,
            }
        }
    };
    secs(result).map(|s| s.to_string())
}
