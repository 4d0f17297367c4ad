//! Auto-unseal through a fake [`SealWrapper`]: recovery shares, restart, seal outages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use arca_logical::{ClientToken, Operation, Request};
use arca_storage::{InMemStorage, Storage};
use arca_types::sys::{InitRequest, InitResponse, UnsealRequest};
use base64::Engine as _;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::*;

/// A seal that encrypts with a fixed AES-GCM key and can be switched off.
struct FakeSeal {
    key: [u8; 32],
    up: AtomicBool,
    unwraps: AtomicUsize,
}

impl FakeSeal {
    fn new() -> Arc<Self> {
        Self::with_key(7)
    }
    /// Another transit key (or server): what one wraps, the other cannot open.
    fn with_key(byte: u8) -> Arc<Self> {
        Arc::new(Self {
            key: [byte; 32],
            up: AtomicBool::new(true),
            unwraps: AtomicUsize::new(0),
        })
    }
    fn check_up(&self) -> Result<(), SealError> {
        if self.up.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(SealError {
                retryable: true,
                message: "unreachable".into(),
            })
        }
    }
}

#[async_trait::async_trait]
impl SealWrapper for FakeSeal {
    fn seal_type(&self) -> &'static str {
        "transit"
    }
    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        self.check_up()?;
        Ok(arca_crypto::AeadKey::new(&self.key)
            .unwrap()
            .seal(b"fake", plaintext)
            .unwrap())
    }
    async fn unwrap(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.check_up()?;
        self.unwraps.fetch_add(1, Ordering::SeqCst);
        arca_crypto::AeadKey::new(&self.key)
            .unwrap()
            .open(b"fake", ciphertext)
            .map_err(|_| SealError {
                retryable: false,
                message: "decryption failed".into(),
            })
    }
}

async fn core_with(storage: &Arc<dyn Storage>, seal: &Arc<FakeSeal>) -> Arc<Core> {
    Core::with_seal(
        Arc::clone(storage),
        CoreConfig::default(),
        Registry::new(),
        Some(Arc::clone(seal) as Arc<dyn SealWrapper>),
    )
    .await
    .unwrap()
}

async fn init_recovery(core: &Core, n: u64, t: u64) -> InitResponse {
    core.init(InitRequest {
        // Ignored with an auto-unseal, as the CLI always sends them.
        secret_shares: Some(5),
        secret_threshold: Some(3),
        recovery_shares: Some(n),
        recovery_threshold: Some(t),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn req(op: Operation, path: &str, token: &str, data: Value) -> Request {
    let mut r = Request::new("test", op, path);
    r.token = Some(ClientToken::new(token.to_owned()));
    if let Value::Object(m) = data {
        r.data = m;
    }
    r
}

async fn unseal(core: &Core, key: &str) -> Result<SealStatus, LogicalError> {
    core.unseal(UnsealRequest {
        key: Some(key.to_owned()),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn init_auto_unseals_and_restart_unseals_through_the_seal() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let seal = FakeSeal::new();
    let core = core_with(&storage, &seal).await;
    let before = core.seal_status().await;
    assert_eq!(before.seal_type, "transit");
    assert!(before.recovery_seal && !before.initialized);

    let resp = init_recovery(&core, 5, 3).await;
    assert!(resp.keys.is_empty() && resp.keys_base64.is_empty());
    assert_eq!(resp.recovery_keys.len(), 5);
    assert_eq!(resp.recovery_keys_base64.len(), 5);
    assert!(!core.is_sealed(), "an auto-unseal opens right after init");
    let st = core.seal_status().await;
    assert_eq!(
        (st.seal_type.as_str(), st.recovery_seal, st.t, st.n),
        ("transit", true, 3, 5)
    );
    assert_eq!(st.recovery_seal_type.as_deref(), Some("shamir"));
    let wire = serde_json::to_value(&st).unwrap();
    assert_eq!(wire["recovery_seal_type"], "shamir");

    core.handle(req(
        Operation::Read,
        "auth/token/lookup-self",
        &resp.root_token,
        json!({}),
    ))
    .await
    .unwrap();
    // Root-key rotation rewraps through the seal.
    core.rotate_root_key().await.unwrap();

    // Restart: a new core over the same storage is sealed until auto_unseal.
    let core2 = core_with(&storage, &seal).await;
    assert!(core2.is_sealed() && core2.uses_auto_unseal());
    assert!(core2.auto_unseal().await.unwrap());
    assert!(!core2.is_sealed());
    core2
        .handle(req(
            Operation::Read,
            "auth/token/lookup-self",
            &resp.root_token,
            json!({}),
        ))
        .await
        .unwrap();

    // sys/seal, then sys/unseal with recovery shares re-opens through the seal.
    core2
        .handle(req(
            Operation::Update,
            "sys/seal",
            &resp.root_token,
            json!({}),
        ))
        .await
        .unwrap();
    assert!(core2.is_sealed());
    let s = unseal(&core2, &resp.recovery_keys[0]).await.unwrap();
    assert_eq!((s.sealed, s.progress, s.t), (true, 1, 3));
    unseal(&core2, &resp.recovery_keys_base64[3]).await.unwrap();
    let s = unseal(&core2, &resp.recovery_keys[4]).await.unwrap();
    assert!(!s.sealed);
}

#[tokio::test]
async fn seal_outage_keeps_the_node_sealed_until_the_seal_returns() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let seal = FakeSeal::new();
    let core = core_with(&storage, &seal).await;
    init_recovery(&core, 1, 1).await;
    drop(core);

    seal.up.store(false, Ordering::SeqCst);
    let core = core_with(&storage, &seal).await;
    let err = core.auto_unseal().await.unwrap_err();
    assert!(err.is_retryable());
    assert!(core.is_sealed());

    let task = tokio::spawn(Arc::clone(&core).auto_unseal_with_retry());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(core.is_sealed());
    seal.up.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert!(!core.is_sealed());
}

#[tokio::test]
async fn init_fails_cleanly_when_the_seal_is_down() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let seal = FakeSeal::new();
    seal.up.store(false, Ordering::SeqCst);
    let core = core_with(&storage, &seal).await;
    assert!(
        core.init(InitRequest {
            recovery_shares: Some(1),
            recovery_threshold: Some(1),
            ..Default::default()
        })
        .await
        .is_err()
    );
    assert!(!core.is_initialized());
    seal.up.store(true, Ordering::SeqCst);
    init_recovery(&core, 1, 1).await;
    assert!(!core.is_sealed());
}

#[tokio::test]
async fn recovery_parameters_are_validated() {
    let core = core_with(
        &(Arc::new(InMemStorage::new()) as Arc<dyn Storage>),
        &FakeSeal::new(),
    )
    .await;
    let err = core
        .init(InitRequest {
            recovery_shares: Some(3),
            recovery_threshold: Some(4),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "recovery threshold cannot be larger than recovery shares"
    );
}

#[tokio::test]
async fn wrong_recovery_shares_are_refused() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let seal = FakeSeal::new();
    let core = core_with(&storage, &seal).await;
    let resp = init_recovery(&core, 3, 2).await;
    let other = init_recovery(
        &*core_with(&(Arc::new(InMemStorage::new()) as Arc<dyn Storage>), &seal).await,
        3,
        2,
    )
    .await;
    core.handle(req(
        Operation::Update,
        "sys/seal",
        &resp.root_token,
        json!({}),
    ))
    .await
    .unwrap();
    let unwraps = seal.unwraps.load(Ordering::SeqCst);
    unseal(&core, &other.recovery_keys[0]).await.unwrap();
    let err = unseal(&core, &other.recovery_keys[1]).await.unwrap_err();
    assert!(err.message.contains("recovery key"), "{}", err.message);
    assert!(core.is_sealed());
    assert_eq!(
        seal.unwraps.load(Ordering::SeqCst),
        unwraps,
        "wrong recovery shares never reach the seal"
    );
    // Progress was reset; the right shares still work.
    assert_eq!(core.seal_status().await.progress, 0);
    unseal(&core, &resp.recovery_keys[0]).await.unwrap();
    assert!(!unseal(&core, &resp.recovery_keys[2]).await.unwrap().sealed);

    // Generate-root refuses wrong recovery shares too.
    let tok = &resp.root_token;
    let st = core
        .handle(req(
            Operation::Update,
            "sys/generate-root-token/attempt",
            tok,
            json!({}),
        ))
        .await
        .unwrap()
        .data
        .unwrap();
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    for k in &other.recovery_keys[..1] {
        core.handle(req(
            Operation::Update,
            "sys/generate-root-token/update",
            tok,
            json!({"key": k, "nonce": nonce}),
        ))
        .await
        .unwrap();
    }
    let err = core
        .handle(req(
            Operation::Update,
            "sys/generate-root-token/update",
            tok,
            json!({"key": other.recovery_keys[1], "nonce": nonce}),
        ))
        .await
        .unwrap_err();
    assert!(err.message.contains("recovery key"), "{}", err.message);
}

#[tokio::test]
async fn recovery_quorum_generates_a_root_token_and_rekeys() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let seal = FakeSeal::new();
    let core = core_with(&storage, &seal).await;
    let resp = init_recovery(&core, 3, 2).await;
    let tok = &resp.root_token;

    let st = core
        .handle(req(
            Operation::Update,
            "sys/generate-root-token/attempt",
            tok,
            json!({}),
        ))
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(st["required"], 2);
    let otp = st["otp"].as_str().unwrap().to_owned();
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    for k in &resp.recovery_keys[1..3] {
        last = Value::Object(
            core.handle(req(
                Operation::Update,
                "sys/generate-root-token/update",
                tok,
                json!({"key": k, "nonce": nonce}),
            ))
            .await
            .unwrap()
            .data
            .unwrap(),
        );
    }
    assert_eq!(last["complete"], true);
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(last["encoded_token"].as_str().unwrap())
        .unwrap();
    let token: String = raw
        .iter()
        .zip(otp.as_bytes())
        .map(|(a, b)| char::from(a ^ b))
        .collect();
    core.handle(req(
        Operation::Read,
        "auth/token/lookup-self",
        &token,
        json!({}),
    ))
    .await
    .unwrap();

    // Rekey of the recovery shares: 3/2 → 4/3.
    core.rekey_init(Some(4), Some(3), false, false)
        .await
        .unwrap();
    let nonce = core.rekey_status().await.unwrap().nonce;
    core.rekey_update(&resp.recovery_keys[0], &nonce)
        .await
        .unwrap();
    let done = core
        .rekey_update(&resp.recovery_keys[1], &nonce)
        .await
        .unwrap();
    assert!(done.complete);
    assert_eq!(done.keys.len(), 4);
    let st = core.seal_status().await;
    assert_eq!((st.seal_type.as_str(), st.t, st.n), ("transit", 3, 4));

    // The new recovery shares unseal after a seal; the old ones no longer do.
    core.handle(req(Operation::Update, "sys/seal", tok, json!({})))
        .await
        .unwrap();
    unseal(&core, &resp.recovery_keys[0]).await.unwrap();
    unseal(&core, &resp.recovery_keys[1]).await.unwrap();
    assert!(unseal(&core, &resp.recovery_keys[2]).await.is_err());
    for k in &done.keys[..3] {
        unseal(&core, k).await.unwrap();
    }
    assert!(!core.is_sealed());
    // Restart still auto-unseals.
    let core2 = core_with(&storage, &seal).await;
    assert!(core2.auto_unseal().await.unwrap());
}

#[tokio::test]
async fn shamir_core_rejects_recovery_parameters() {
    let core = Core::new(Arc::new(InMemStorage::new()), CoreConfig::default())
        .await
        .unwrap();
    assert_eq!(core.seal_status().await.seal_type, "shamir");
    assert!(!core.seal_status().await.recovery_seal);
    assert!(!core.auto_unseal().await.unwrap());
}

async fn unseal_migrate(core: &Core, key: &str) -> Result<SealStatus, LogicalError> {
    core.unseal(UnsealRequest {
        key: Some(key.to_owned()),
        migrate: Some(true),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn migrate_shamir_to_transit_and_back() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let shamir = Core::new(Arc::clone(&storage), CoreConfig::default())
        .await
        .unwrap();
    let resp = shamir
        .init(InitRequest {
            secret_shares: Some(3),
            secret_threshold: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    drop(shamir);

    // Shamir → transit: the node is in migration until unsealed with migrate=true.
    let seal = FakeSeal::new();
    let core = core_with(&storage, &seal).await;
    assert!(core.migration_pending());
    let st = core.seal_status().await;
    assert!(st.migration && st.seal_type == "shamir");
    assert!(!core.auto_unseal().await.unwrap());
    let err = unseal(&core, &resp.keys[0]).await.unwrap_err();
    assert_eq!(
        err.message,
        "migrate option not provided and seal migration is pending"
    );
    unseal_migrate(&core, &resp.keys[0]).await.unwrap();
    let st = unseal_migrate(&core, &resp.keys[1]).await.unwrap();
    assert!(!st.sealed && !st.migration);
    assert_eq!((st.seal_type.as_str(), st.recovery_seal), ("transit", true));
    assert!(!core.migration_pending());
    core.handle(req(
        Operation::Read,
        "auth/token/lookup-self",
        &resp.root_token,
        json!({}),
    ))
    .await
    .unwrap();
    assert!(
        storage.get(seal::ROOT_KEY_PATH).await.unwrap().is_none(),
        "the Shamir-sealed root key is gone"
    );

    // Restart: auto-unseal; the old unseal shares are now the recovery shares.
    let core = core_with(&storage, &seal).await;
    assert!(core.auto_unseal().await.unwrap());
    let err = unseal_migrate(&core, &resp.keys[0]).await;
    assert!(err.is_ok(), "unsealed: the status is returned");

    // Transit → Shamir: no enabled seal, the transit one kept as the old (disabled) seal.
    let core = Core::with_seals(
        Arc::clone(&storage),
        CoreConfig::default(),
        Registry::new(),
        None,
        Some(Arc::clone(&seal) as Arc<dyn SealWrapper>),
    )
    .await
    .unwrap();
    assert!(core.migration_pending());
    unseal_migrate(&core, &resp.keys[2]).await.unwrap();
    let st = unseal_migrate(&core, &resp.keys[0]).await.unwrap();
    assert!(!st.sealed);
    assert_eq!((st.seal_type.as_str(), st.recovery_seal), ("shamir", false));
    assert!(
        storage
            .get(seal::WRAPPED_ROOT_KEY_PATH)
            .await
            .unwrap()
            .is_none()
    );

    // Plain Shamir again: the same shares unseal without the seal.
    let core = Core::new(Arc::clone(&storage), CoreConfig::default())
        .await
        .unwrap();
    assert!(!core.migration_pending());
    let err = unseal_migrate(&core, &resp.keys[0]).await.unwrap_err();
    assert_eq!(
        err.message,
        "migrate option provided but seal migration not in progress"
    );
    unseal(&core, &resp.keys[1]).await.unwrap();
    assert!(!unseal(&core, &resp.keys[2]).await.unwrap().sealed);
}

#[tokio::test]
async fn migration_away_from_transit_needs_the_old_seal() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let seal = FakeSeal::new();
    let resp = init_recovery(&*core_with(&storage, &seal).await, 1, 1).await;
    let core = Core::new(Arc::clone(&storage), CoreConfig::default())
        .await
        .unwrap();
    let err = unseal_migrate(&core, &resp.recovery_keys[0])
        .await
        .unwrap_err();
    assert!(err.message.contains("disabled"), "{}", err.message);
    assert!(core.is_sealed());
}

#[tokio::test]
async fn migrate_between_two_transit_seals() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let old = FakeSeal::with_key(1);
    let new = FakeSeal::with_key(2);
    let resp = init_recovery(&*core_with(&storage, &old).await, 3, 2).await;
    let both = || {
        Core::with_seals(
            Arc::clone(&storage),
            CoreConfig::default(),
            Registry::new(),
            Some(Arc::clone(&new) as Arc<dyn SealWrapper>),
            Some(Arc::clone(&old) as Arc<dyn SealWrapper>),
        )
    };

    // Old seal disabled, new one enabled, same type: a migration, not an auto-unseal.
    let core = both().await.unwrap();
    assert!(core.migration_pending());
    assert!(core.seal_status().await.migration);
    assert!(!core.auto_unseal().await.unwrap());
    assert!(core.is_sealed());
    let err = unseal(&core, &resp.recovery_keys[0]).await.unwrap_err();
    assert_eq!(
        err.message,
        "migrate option not provided and seal migration is pending"
    );
    unseal_migrate(&core, &resp.recovery_keys[2]).await.unwrap();
    let st = unseal_migrate(&core, &resp.recovery_keys[0]).await.unwrap();
    assert!(!st.sealed && !st.migration);
    assert_eq!((st.seal_type.as_str(), st.t, st.n), ("transit", 2, 3));
    assert!(!core.migration_pending());

    // The new seal alone unseals; the old one is never asked again.
    let before = old.unwraps.load(Ordering::SeqCst);
    old.up.store(false, Ordering::SeqCst);
    let core = core_with(&storage, &new).await;
    assert!(!core.migration_pending());
    assert!(core.auto_unseal().await.unwrap());
    assert_eq!(old.unwraps.load(Ordering::SeqCst), before);
    core.handle(req(
        Operation::Read,
        "auth/token/lookup-self",
        &resp.root_token,
        json!({}),
    ))
    .await
    .unwrap();
    // The recovery shares are unchanged.
    core.seal().await;
    unseal(&core, &resp.recovery_keys[1]).await.unwrap();
    assert!(!unseal(&core, &resp.recovery_keys[2]).await.unwrap().sealed);

    // Restarted with the disabled block left in place (old seal gone): the migrate
    // unseal finds the root key already under the new seal.
    let core = both().await.unwrap();
    assert!(core.migration_pending());
    unseal_migrate(&core, &resp.recovery_keys[0]).await.unwrap();
    let st = unseal_migrate(&core, &resp.recovery_keys[1]).await.unwrap();
    assert!(!st.sealed);

    // A wrong recovery set never reaches the seals.
    let other = init_recovery(
        &*core_with(&(Arc::new(InMemStorage::new()) as Arc<dyn Storage>), &new).await,
        1,
        1,
    )
    .await;
    let core = both().await.unwrap();
    unseal_migrate(&core, &other.recovery_keys[0])
        .await
        .unwrap();
    unseal_migrate(&core, &resp.recovery_keys[0])
        .await
        .unwrap_err();
    assert!(core.is_sealed());
}
