use std::sync::Arc;

use arca_barrier::{Barrier, BarrierError, BarrierOptions, RootKey};
use arca_storage::InMemStorage;
use proptest::prelude::*;

fn barrier() -> Arc<Barrier> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let root = RootKey::generate().unwrap();
        Barrier::initialize(
            Arc::new(InMemStorage::new()),
            &root,
            BarrierOptions::default(),
        )
        .await
        .unwrap()
    })
}

proptest! {
    #[test]
    fn encrypt_decrypt_round_trip(
        data in proptest::collection::vec(any::<u8>(), 0..1024),
        path in "[a-z0-9/_-]{1,40}",
        other in "[a-z0-9/_-]{1,40}",
    ) {
        let b = barrier();
        let ct = b.encrypt(&path, &data).unwrap();
        prop_assert_eq!(&*b.decrypt(&path, &ct).unwrap(), &data[..]);
        if other != path {
            prop_assert!(matches!(b.decrypt(&other, &ct), Err(BarrierError::Authentication)));
        }
    }

    #[test]
    fn arbitrary_bytes_never_decrypt(value in proptest::collection::vec(any::<u8>(), 0..128)) {
        let b = barrier();
        prop_assert!(b.decrypt("p", &value).is_err());
    }
}
