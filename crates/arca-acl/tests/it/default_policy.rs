//! The built-in `default` policy grants exactly what vault-api.md §4.3 lists.

use arca_acl::{
    Acl, DEFAULT_POLICY, Operation::*, TemplateContext, default_policy_text, parse_policy,
    response_wrapping_policy_text,
};

use crate::support::{Req, eval, now};

fn default_acl(ctx: &TemplateContext) -> Acl {
    let p = parse_policy(DEFAULT_POLICY, default_policy_text()).unwrap();
    Acl::new_at(&[&p], ctx, now()).unwrap()
}

#[test]
fn default_policy_grants() {
    let ctx = TemplateContext {
        entity_id: Some("ent-1".into()),
        entity_name: Some("alice".into()),
        ..TemplateContext::default()
    };
    let acl = default_acl(&ctx);
    let allowed = [
        (Read, "auth/token/lookup-self"),
        (Update, "auth/token/renew-self"),
        (Update, "auth/token/revoke-self"),
        (Update, "sys/capabilities-self"),
        (Read, "identity/entity/id/ent-1"),
        (Read, "identity/entity/name/alice"),
        (Read, "sys/internal/ui/resultant-acl"),
        (Update, "sys/leases/renew"),
        (Update, "sys/leases/lookup"),
        (Create, "cubbyhole/foo"),
        (Read, "cubbyhole/foo"),
        (Update, "cubbyhole/foo"),
        (Delete, "cubbyhole/foo"),
        (List, "cubbyhole/"),
        (List, "cubbyhole/dir/"),
        (Update, "sys/wrapping/wrap"),
        (Update, "sys/wrapping/lookup"),
        (Update, "sys/wrapping/unwrap"),
        (Update, "sys/tools/hash"),
        (Update, "sys/tools/hash/sha2-256"),
        (Read, "identity/oidc/provider/default/authorize"),
        (Update, "identity/oidc/provider/default/authorize"),
    ];
    for (op, path) in allowed {
        let r = eval(&acl, &Req::new(op, path));
        assert!(r.allowed, "{op:?} {path} should be allowed: {:?}", r.denial);
        assert_eq!(r.granting_policies, ["default"]);
    }
    let denied = [
        (Read, "sys/mounts"),
        (Update, "auth/token/lookup-self"),
        (Read, "auth/token/lookup"),
        (Update, "auth/token/create"),
        (Read, "secret/data/x"),
        (Read, "identity/entity/id/ent-2"),
        (Read, "identity/entity/name/bob"),
        (Patch, "cubbyhole/foo"),
        (Read, "sys/wrapping/rewrap"),
        (Update, "sys/leases/revoke"),
        (Read, "identity/oidc/provider/a/b/authorize"),
        (List, "sys/policies/acl/"),
        (Update, "sys/tools/random"),
    ];
    for (op, path) in denied {
        assert!(
            !eval(&acl, &Req::new(op, path)).allowed,
            "{op:?} {path} should be denied"
        );
    }
    // Nothing in it is sudo.
    let mut r = Req::new(Read, "auth/token/lookup-self");
    r.sudo = true;
    assert!(!eval(&acl, &r).allowed);
}

#[test]
fn default_policy_without_entity_drops_the_identity_paths() {
    let acl = default_acl(&TemplateContext::default());
    assert!(!eval(&acl, &Req::new(Read, "identity/entity/id/")).allowed);
    assert!(eval(&acl, &Req::new(Read, "auth/token/lookup-self")).allowed);
    assert_eq!(acl.capabilities("sys/capabilities-self"), ["update"]);
}

#[test]
fn default_policy_is_templated_and_lists_sixteen_stanzas() {
    let p = parse_policy(DEFAULT_POLICY, default_policy_text()).unwrap();
    assert!(p.is_templated());
    assert_eq!(p.patterns().count(), 16);
    assert_eq!(p.raw, default_policy_text());
}

#[test]
fn response_wrapping_policy() {
    let p = parse_policy(
        arca_acl::RESPONSE_WRAPPING_POLICY,
        response_wrapping_policy_text(),
    )
    .unwrap();
    let acl = Acl::new_at(&[&p], &TemplateContext::default(), now()).unwrap();
    assert!(eval(&acl, &Req::new(Read, "cubbyhole/response")).allowed);
    assert!(eval(&acl, &Req::new(Update, "sys/wrapping/unwrap")).allowed);
    assert!(!eval(&acl, &Req::new(Update, "sys/wrapping/lookup")).allowed);
    assert!(!eval(&acl, &Req::new(Read, "cubbyhole/other")).allowed);
}
