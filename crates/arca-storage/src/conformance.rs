//! The conformance suite every [`Storage`] implementation must pass.
//!
//! A backend crate enables the `conformance` feature in its dev-dependencies and calls
//! [`run_all`] from an async test, with a factory that returns a fresh, empty store on
//! each call:
//!
//! ```
//! # use std::sync::Arc;
//! # use arca_storage::InMemStorage as MyBackend;
//! // In the backend crate: #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn conformance() {
//!     arca_storage::conformance::run_all(|| Arc::new(MyBackend::new())).await;
//! }
//! ```
//!
//! Each check panics with a message naming the check and the rule it broke. The suite
//! needs a tokio runtime (the concurrency checks spawn tasks); a multi-threaded runtime
//! exercises real parallelism.

// This module is test code that ships behind a feature: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use crate::{Storage, StorageError, TxnOp};

/// Runs every check, each on a fresh store from `make`.
pub async fn run_all<F>(make: F)
where
    F: Fn() -> Arc<dyn Storage>,
{
    get_missing_is_none(make()).await;
    put_get_overwrite(make()).await;
    delete_existing_and_missing(make()).await;
    invalid_keys_rejected(make()).await;
    binary_empty_and_large_values(make()).await;
    list_immediate_children_sorted(make()).await;
    list_root_and_missing_prefix(make()).await;
    list_key_equal_to_prefix(make()).await;
    list_deep_nesting(make()).await;
    list_ordering_around_separator(make()).await;
    list_after_delete(make()).await;
    unicode_and_space_keys(make()).await;
    transaction_applies_all_in_order(make()).await;
    transaction_invalid_op_applies_nothing(make()).await;
    transaction_empty_is_ok(make()).await;
    concurrent_distinct_puts(make()).await;
    concurrent_transactions_are_atomic(make()).await;
    backend_name_is_set(make()).await;
}

async fn get(s: &Arc<dyn Storage>, key: &str) -> Option<Vec<u8>> {
    s.get(key)
        .await
        .unwrap_or_else(|e| panic!("get({key:?}) failed: {e}"))
}

async fn put(s: &Arc<dyn Storage>, key: &str, value: &[u8]) {
    s.put(key, value)
        .await
        .unwrap_or_else(|e| panic!("put({key:?}) failed: {e}"));
}

async fn delete(s: &Arc<dyn Storage>, key: &str) {
    s.delete(key)
        .await
        .unwrap_or_else(|e| panic!("delete({key:?}) failed: {e}"));
}

async fn list(s: &Arc<dyn Storage>, prefix: &str) -> Vec<String> {
    s.list(prefix)
        .await
        .unwrap_or_else(|e| panic!("list({prefix:?}) failed: {e}"))
}

fn put_op(key: &str, value: &[u8]) -> TxnOp {
    TxnOp::Put {
        key: key.to_owned(),
        value: value.to_vec(),
    }
}

fn delete_op(key: &str) -> TxnOp {
    TxnOp::Delete {
        key: key.to_owned(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn get_missing_is_none(s: Arc<dyn Storage>) {
    assert_eq!(
        get(&s, "missing").await,
        None,
        "get_missing_is_none: absent key"
    );
    assert_eq!(
        get(&s, "no/such/deep/key").await,
        None,
        "get_missing_is_none: absent deep key"
    );
    put(&s, "present", b"x").await;
    assert_eq!(
        get(&s, "presen").await,
        None,
        "get_missing_is_none: a prefix of a key is not a key"
    );
    assert_eq!(
        get(&s, "present2").await,
        None,
        "get_missing_is_none: an extension of a key is not a key"
    );
}

async fn put_get_overwrite(s: Arc<dyn Storage>) {
    put(&s, "a", b"one").await;
    assert_eq!(
        get(&s, "a").await.as_deref(),
        Some(&b"one"[..]),
        "put_get_overwrite: first put"
    );
    put(&s, "a", b"a much longer second value").await;
    assert_eq!(
        get(&s, "a").await.as_deref(),
        Some(&b"a much longer second value"[..]),
        "put_get_overwrite: overwrite with a longer value"
    );
    put(&s, "a", b"3").await;
    assert_eq!(
        get(&s, "a").await.as_deref(),
        Some(&b"3"[..]),
        "put_get_overwrite: overwrite with a shorter value leaves no tail"
    );
    put(&s, "b", b"other").await;
    assert_eq!(
        get(&s, "a").await.as_deref(),
        Some(&b"3"[..]),
        "put_get_overwrite: keys are independent"
    );
    assert_eq!(
        list(&s, "").await,
        strings(&["a", "b"]),
        "put_get_overwrite: overwrite adds no key"
    );
}

async fn delete_existing_and_missing(s: Arc<dyn Storage>) {
    put(&s, "k", b"v").await;
    put(&s, "k2", b"v2").await;
    delete(&s, "k").await;
    assert_eq!(get(&s, "k").await, None, "delete: deleted key is gone");
    assert_eq!(
        get(&s, "k2").await.as_deref(),
        Some(&b"v2"[..]),
        "delete: other keys stay"
    );
    // Deleting an absent key (never written, or already deleted) is not an error.
    delete(&s, "k").await;
    delete(&s, "never/written").await;
    put(&s, "k", b"again").await;
    assert_eq!(
        get(&s, "k").await.as_deref(),
        Some(&b"again"[..]),
        "delete: key can be recreated"
    );
}

async fn invalid_keys_rejected(s: Arc<dyn Storage>) {
    for key in ["", "nul\0inside"] {
        let name = key.escape_debug();
        assert!(
            matches!(s.put(key, b"v").await, Err(StorageError::InvalidKey)),
            "invalid_keys_rejected: put({name}) must fail with InvalidKey"
        );
        assert!(
            matches!(s.get(key).await, Err(StorageError::InvalidKey)),
            "invalid_keys_rejected: get({name}) must fail with InvalidKey"
        );
        assert!(
            matches!(s.delete(key).await, Err(StorageError::InvalidKey)),
            "invalid_keys_rejected: delete({name}) must fail with InvalidKey"
        );
    }
    assert!(
        list(&s, "").await.is_empty(),
        "invalid_keys_rejected: nothing was stored"
    );
}

async fn binary_empty_and_large_values(s: Arc<dyn Storage>) {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    put(&s, "bin", &all_bytes).await;
    assert_eq!(
        get(&s, "bin").await,
        Some(all_bytes),
        "binary: every byte value round-trips"
    );

    put(&s, "empty", b"").await;
    assert_eq!(
        get(&s, "empty").await,
        Some(Vec::new()),
        "binary: an empty value is stored and is distinct from an absent key"
    );
    assert_eq!(
        list(&s, "").await,
        strings(&["bin", "empty"]),
        "binary: an empty value is listed"
    );

    // 1 MiB of a non-repeating pattern, so truncation or page mix-ups show.
    let large: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    put(&s, "large", &large).await;
    assert!(
        get(&s, "large").await.as_deref() == Some(&large[..]),
        "binary: a 1 MiB value round-trips"
    );
    put(&s, "large", b"small now").await;
    assert_eq!(
        get(&s, "large").await.as_deref(),
        Some(&b"small now"[..]),
        "binary: a large value can be overwritten by a small one"
    );
}

async fn list_immediate_children_sorted(s: Arc<dyn Storage>) {
    for key in [
        "dir/b",
        "dir/a",
        "dir/sub/x",
        "dir/sub/y",
        "dir/sub/deeper/z",
        "dir/c/1",
        "dirt",
        "other/q",
    ] {
        put(&s, key, b"v").await;
    }
    assert_eq!(
        list(&s, "dir/").await,
        strings(&["a", "b", "c/", "sub/"]),
        "list: immediate children of dir/, sorted, each folder once with a trailing '/'"
    );
    assert_eq!(
        list(&s, "dir/sub/").await,
        strings(&["deeper/", "x", "y"]),
        "list: nested folder"
    );
    assert_eq!(
        list(&s, "").await,
        strings(&["dir/", "dirt", "other/"]),
        "list: root, where 'dirt' shares a string prefix with 'dir/' but is a separate key"
    );
}

async fn list_root_and_missing_prefix(s: Arc<dyn Storage>) {
    assert!(
        list(&s, "").await.is_empty(),
        "list: an empty store lists nothing at the root"
    );
    assert!(
        list(&s, "nothing/").await.is_empty(),
        "list: an empty store lists nothing under a prefix"
    );
    put(&s, "top", b"v").await;
    put(&s, "folder/inner", b"v").await;
    assert_eq!(
        list(&s, "").await,
        strings(&["folder/", "top"]),
        "list: the empty prefix lists the root"
    );
    assert!(
        list(&s, "nothing/").await.is_empty(),
        "list: a prefix with no keys lists nothing"
    );
    assert!(
        list(&s, "top/").await.is_empty(),
        "list: a key is not a folder"
    );
}

async fn list_key_equal_to_prefix(s: Arc<dyn Storage>) {
    // "a" is both a key and, through "a/b", a folder: both appear at the root.
    put(&s, "a", b"leaf").await;
    put(&s, "a/b", b"child").await;
    assert_eq!(
        list(&s, "").await,
        strings(&["a", "a/"]),
        "list: a key and a folder of the same name"
    );
    assert_eq!(
        list(&s, "a/").await,
        strings(&["b"]),
        "list: the key 'a' is not its own child"
    );
    delete(&s, "a").await;
    assert_eq!(
        list(&s, "").await,
        strings(&["a/"]),
        "list: the folder remains when the key goes"
    );
    assert_eq!(
        get(&s, "a/b").await.as_deref(),
        Some(&b"child"[..]),
        "list: child survives"
    );
}

async fn list_deep_nesting(s: Arc<dyn Storage>) {
    let deep = "l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/leaf";
    put(&s, deep, b"v").await;
    assert_eq!(
        list(&s, "").await,
        strings(&["l1/"]),
        "list: deep key shows as one folder at the root"
    );
    assert_eq!(
        list(&s, "l1/l2/l3/").await,
        strings(&["l4/"]),
        "list: deep key in the middle"
    );
    assert_eq!(
        list(&s, "l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/").await,
        strings(&["leaf"]),
        "list: deepest level"
    );
    assert_eq!(
        get(&s, deep).await.as_deref(),
        Some(&b"v"[..]),
        "list: deep key reads back"
    );
}

async fn list_ordering_around_separator(s: Arc<dyn Storage>) {
    // '-' and '.' sort before '/', '0' right after it: a backend that scans ranges and
    // skips over folders must still find every sibling.
    for key in ["x-1", "x.2", "x/a", "x/b/c", "x0", "x/", "y", "x//double"] {
        put(&s, key, b"v").await;
    }
    assert_eq!(
        list(&s, "").await,
        strings(&["x-1", "x.2", "x/", "x0", "y"]),
        "list: siblings sorting on both sides of a folder"
    );
    assert_eq!(
        list(&s, "x/").await,
        strings(&["/", "a", "b/"]),
        "list: an empty path segment is a folder named '/'; a key ending in '/' is not listed under itself"
    );
}

async fn list_after_delete(s: Arc<dyn Storage>) {
    put(&s, "f/one", b"v").await;
    put(&s, "f/two", b"v").await;
    delete(&s, "f/one").await;
    assert_eq!(
        list(&s, "f/").await,
        strings(&["two"]),
        "list: deleted key disappears"
    );
    delete(&s, "f/two").await;
    assert!(
        list(&s, "f/").await.is_empty(),
        "list: emptied folder lists nothing"
    );
    assert!(
        list(&s, "").await.is_empty(),
        "list: an emptied folder disappears from its parent"
    );
}

async fn unicode_and_space_keys(s: Arc<dyn Storage>) {
    let keys = [
        "with space/key one",
        "with space/key two",
        "ключ/значение",
        "日本/語",
        "emoji/🔑",
        "mixed/Ünïcode key",
        "tab\there",
    ];
    for (i, key) in keys.iter().enumerate() {
        put(&s, key, format!("value {i}").as_bytes()).await;
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            get(&s, key).await,
            Some(format!("value {i}").into_bytes()),
            "unicode: {key:?} round-trips"
        );
    }
    let mut root = strings(&[
        "with space/",
        "ключ/",
        "日本/",
        "emoji/",
        "mixed/",
        "tab\there",
    ]);
    // The contract sorts by string order, which for UTF-8 is byte order.
    root.sort();
    assert_eq!(
        list(&s, "").await,
        root,
        "unicode: root listing in string order"
    );
    assert_eq!(
        list(&s, "with space/").await,
        strings(&["key one", "key two"]),
        "unicode: a folder name with a space"
    );
    assert_eq!(
        list(&s, "ключ/").await,
        strings(&["значение"]),
        "unicode: Cyrillic folder"
    );
    assert_eq!(
        list(&s, "emoji/").await,
        strings(&["🔑"]),
        "unicode: emoji key"
    );
}

async fn transaction_applies_all_in_order(s: Arc<dyn Storage>) {
    put(&s, "t/old", b"old").await;
    put(&s, "t/gone", b"x").await;
    let ops = vec![
        put_op("t/a", b"1"),
        put_op("t/b", b"2"),
        put_op("t/a", b"1 again"), // later put wins
        delete_op("t/gone"),       // delete of an existing key
        delete_op("t/never"),      // delete of an absent key is fine
        put_op("t/short", b"tmp"),
        delete_op("t/short"), // put then delete: absent
        delete_op("t/old"),
        put_op("t/old", b"reborn"), // delete then put: present
        put_op("t/empty", b""),
    ];
    s.transaction(ops)
        .await
        .unwrap_or_else(|e| panic!("transaction failed: {e}"));
    assert_eq!(
        get(&s, "t/a").await.as_deref(),
        Some(&b"1 again"[..]),
        "txn: ops apply in order"
    );
    assert_eq!(
        get(&s, "t/b").await.as_deref(),
        Some(&b"2"[..]),
        "txn: every put applies"
    );
    assert_eq!(get(&s, "t/gone").await, None, "txn: delete applies");
    assert_eq!(
        get(&s, "t/short").await,
        None,
        "txn: put then delete leaves nothing"
    );
    assert_eq!(
        get(&s, "t/old").await.as_deref(),
        Some(&b"reborn"[..]),
        "txn: delete then put"
    );
    assert_eq!(
        get(&s, "t/empty").await,
        Some(Vec::new()),
        "txn: empty value"
    );
    assert_eq!(
        list(&s, "t/").await,
        strings(&["a", "b", "empty", "old"]),
        "txn: resulting key set"
    );
}

async fn transaction_invalid_op_applies_nothing(s: Arc<dyn Storage>) {
    put(&s, "keep", b"original").await;
    put(&s, "doomed", b"still here").await;
    for bad in [put_op("", b"v"), delete_op(""), put_op("nul\0key", b"v")] {
        let ops = vec![
            put_op("keep", b"changed"),
            put_op("new", b"v"),
            delete_op("doomed"),
            // The invalid op comes last, after valid ones, so a backend that applies
            // as it goes is caught.
            bad,
        ];
        let result = s.transaction(ops).await;
        assert!(
            matches!(result, Err(StorageError::InvalidKey)),
            "txn: a transaction with an invalid key must fail with InvalidKey, got {result:?}"
        );
        assert_eq!(
            get(&s, "keep").await.as_deref(),
            Some(&b"original"[..]),
            "txn: failed txn changed a key"
        );
        assert_eq!(get(&s, "new").await, None, "txn: failed txn created a key");
        assert_eq!(
            get(&s, "doomed").await.as_deref(),
            Some(&b"still here"[..]),
            "txn: failed txn deleted a key"
        );
        assert_eq!(
            list(&s, "").await,
            strings(&["doomed", "keep"]),
            "txn: failed txn changed the key set"
        );
    }
}

async fn transaction_empty_is_ok(s: Arc<dyn Storage>) {
    s.transaction(Vec::new())
        .await
        .unwrap_or_else(|e| panic!("txn: an empty transaction must succeed: {e}"));
    assert!(
        list(&s, "").await.is_empty(),
        "txn: an empty transaction writes nothing"
    );
}

async fn concurrent_distinct_puts(s: Arc<dyn Storage>) {
    const TASKS: usize = 32;
    const PER_TASK: usize = 16;
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let s = Arc::clone(&s);
        handles.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                let key = format!("conc/{t:02}/{i:02}");
                s.put(&key, key.as_bytes())
                    .await
                    .unwrap_or_else(|e| panic!("concurrent put failed: {e}"));
            }
        }));
    }
    for h in handles {
        h.await.expect("concurrent put task panicked");
    }
    for t in 0..TASKS {
        for i in 0..PER_TASK {
            let key = format!("conc/{t:02}/{i:02}");
            assert_eq!(
                get(&s, &key).await,
                Some(key.clone().into_bytes()),
                "concurrency: {key} missing or wrong"
            );
        }
        let expected: Vec<String> = (0..PER_TASK).map(|i| format!("{i:02}")).collect();
        assert_eq!(
            list(&s, &format!("conc/{t:02}/")).await,
            expected,
            "concurrency: listing of task {t}"
        );
    }
    assert_eq!(
        list(&s, "conc/").await.len(),
        TASKS,
        "concurrency: one folder per task"
    );
}

async fn concurrent_transactions_are_atomic(s: Arc<dyn Storage>) {
    // Every transaction writes the same value to both keys; interleaving two
    // transactions' ops would leave them different.
    const TASKS: usize = 16;
    const ROUNDS: usize = 8;
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let s = Arc::clone(&s);
        handles.push(tokio::spawn(async move {
            for r in 0..ROUNDS {
                let v = format!("{t}-{r}").into_bytes();
                s.transaction(vec![put_op("pair/a", &v), put_op("pair/b", &v)])
                    .await
                    .unwrap_or_else(|e| panic!("concurrent transaction failed: {e}"));
            }
        }));
    }
    for h in handles {
        h.await.expect("concurrent transaction task panicked");
    }
    let a = get(&s, "pair/a").await;
    assert!(a.is_some(), "concurrency: pair/a written");
    assert_eq!(
        a,
        get(&s, "pair/b").await,
        "concurrency: concurrent transactions interleaved"
    );
}

async fn backend_name_is_set(s: Arc<dyn Storage>) {
    let name = s.backend_name();
    assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "backend_name: must be a short lowercase identifier, got {name:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InMemStorage, StorageView};

    #[tokio::test]
    async fn inmem_passes() {
        run_all(|| Arc::new(InMemStorage::new())).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inmem_passes_multi_thread() {
        run_all(|| Arc::new(InMemStorage::new())).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn view_passes() {
        run_all(|| {
            Arc::new(StorageView::new(
                Arc::new(InMemStorage::new()),
                "mount/uuid/",
            ))
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nested_view_passes() {
        run_all(|| {
            let outer = StorageView::new(Arc::new(InMemStorage::new()), "logical/");
            Arc::new(outer.sub_view("abc/"))
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn view_over_populated_store_passes() {
        // The inner store is shared and holds keys outside the view (and at the view's
        // own prefix), none of which the view may show.
        let inner: Arc<dyn Storage> = Arc::new(InMemStorage::new());
        inner.put("aaa", b"outside").await.unwrap();
        inner.put("zzz/deep", b"outside").await.unwrap();
        inner.put("view", b"outside").await.unwrap();
        inner.put("view0", b"outside").await.unwrap();
        let counter = std::sync::atomic::AtomicUsize::new(0);
        run_all(|| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Arc::new(StorageView::new(Arc::clone(&inner), format!("view/{n}/")))
        })
        .await;
        assert_eq!(
            inner.get("aaa").await.unwrap().as_deref(),
            Some(&b"outside"[..])
        );
    }
}
