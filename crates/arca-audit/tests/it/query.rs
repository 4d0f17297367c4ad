//! "Who read this secret?": answers from the log's clear fields, never values.

use std::time::{Duration, SystemTime};

use arca_audit::AuditResponse;
use arca_audit::query::{Filter, query};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn who_read_the_payments_secret() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;
    let old = SystemTime::now() - Duration::from_secs(3 * 86400);

    // Alice read it three days ago and now; Bob was denied; Carol read another path;
    // a request by Dave never got its response record.
    let mut e = with_response(
        entry("alice-old", "secret/data/payments"),
        json!({"card": "4111"}),
    );
    e.time = old;
    b.log_request(&e).await.unwrap();
    b.log_response(&e).await.unwrap();
    let e = with_response(
        entry("alice-now", "secret/data/payments"),
        json!({"card": "4111"}),
    );
    b.log_request(&e).await.unwrap();
    b.log_response(&e).await.unwrap();
    let mut e = entry("bob", "secret/data/payments");
    let auth = e.auth.as_mut().unwrap();
    auth.accessor = "accessor-bob".into();
    auth.display_name = "userpass-bob".into();
    auth.entity_id = "entity-bob".into();
    auth.policy_results = Some((false, vec![]));
    e.client_token_accessor = "accessor-bob".into();
    e.remote_address = "10.0.0.7".into();
    b.log_request(&e).await.unwrap();
    e.response = Some(AuditResponse {
        status: 403,
        error: Some("permission denied".into()),
        ..AuditResponse::default()
    });
    b.log_response(&e).await.unwrap();
    let e = with_response(entry("carol", "secret/data/other"), json!({"x": "y"}));
    b.log_request(&e).await.unwrap();
    b.log_response(&e).await.unwrap();
    b.log_request(&entry("dave", "secret/data/payments"))
        .await
        .unwrap();
    b.shutdown().await;
    let files = [log.clone()];

    let day_ago = SystemTime::now() - Duration::from_secs(86400);
    let hits = query(
        &files,
        &Filter {
            path: Some("secret/data/payments".into()),
            since: Some(day_ago),
            ..Filter::default()
        },
    )
    .unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.request_id.as_str()).collect();
    assert_eq!(ids, ["alice-now", "bob", "dave"]);
    assert_eq!(hits[0].outcome, "ok");
    assert_eq!(hits[0].display_name, "userpass-alice");
    assert_eq!(hits[1].outcome, "error: permission denied");
    assert_eq!(hits[1].remote_address, "10.0.0.7");
    assert_eq!(hits[2].outcome, "no response record");
    // Nothing secret in the answer.
    let text = serde_json::to_string(&hits).unwrap();
    assert!(
        !text.contains("4111") && !text.contains("hvs.token"),
        "{text}"
    );

    // Without --since, the old read shows up too.
    let all = query(
        &files,
        &Filter {
            path: Some("secret/data/payments".into()),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].request_id, "alice-old");
    // Prefix match.
    let all = query(
        &files,
        &Filter {
            path: Some("secret/data/*".into()),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(all.len(), 5);

    // By accessor: the log holds HMACs; sys/audit-hash gives the value to search for.
    let bob_hash = b.hash("file", "accessor-bob").await;
    assert!(bob_hash.is_err(), "the device was shut down");
    let by_entity = query(
        &files,
        &Filter {
            entity: Some("entity-bob".into()),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(by_entity.len(), 1);
    let by_addr = query(
        &files,
        &Filter {
            remote_address: Some("10.0.0.7".into()),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(by_addr.len(), 1);
    assert_eq!(by_addr[0].request_id, "bob");
}

#[tokio::test]
async fn accessor_is_matched_by_its_audit_hash() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;
    b.log_request(&entry("a1", "secret/data/x")).await.unwrap();
    let mut e = entry("b1", "secret/data/x");
    e.auth.as_mut().unwrap().accessor = "accessor-bob".into();
    e.client_token_accessor = "accessor-bob".into();
    b.log_request(&e).await.unwrap();
    let h = b.hash("file", "accessor-alice").await.unwrap();
    let hits = query(
        std::slice::from_ref(&log),
        &Filter {
            accessor: Some(h.clone()),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].request_id, "a1");
    assert_eq!(hits[0].accessor, h);
    // The raw accessor does not match an HMAC'd log.
    let none = query(
        std::slice::from_ref(&log),
        &Filter {
            accessor: Some("accessor-alice".into()),
            ..Filter::default()
        },
    )
    .unwrap();
    assert!(none.is_empty());
}
