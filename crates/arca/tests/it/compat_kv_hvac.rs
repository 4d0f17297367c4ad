//! Python hvac 2.4.0 running its KV v1 and KV v2 methods against `arca server -dev` and `bao
//! server -dev`: the same script on both, every call's result (the parsed answer, hvac's bare
//! `requests.Response` status for 204s, or the exception with its errors and body) compared
//! with timestamps and request ids normalised.

use arca_test_support::{JsonDiff, PyEnv};
use serde_json::{Value, json};

use crate::compat_common::{arca_dev, bao_dev, py};
use crate::compat_kv_cli::normalise_times;

const TOKEN: &str = "compat-kv-hvac";

/// Records every call in `out` (name → result) and prints it as JSON.
const SCRIPT: &str = r#"
out = {}
def rec(name, f):
    try:
        r = f()
        out[name] = {"response_status": r.status_code} if hasattr(r, "status_code") else r
    except Exception as e:
        out[name] = {"exception": type(e).__name__, "errors": getattr(e, "errors", None),
                     "json": getattr(e, "json", None)}
kv2 = client.secrets.kv.v2
kv1 = client.secrets.kv.v1

# KV v2 on the dev server's secret/.
rec("config", lambda: kv2.read_configuration())
rec("configure", lambda: kv2.configure(max_versions=0))
rec("create", lambda: kv2.create_or_update_secret("app", {"user": "alice", "n": 1, "nested": {"a": [1, None]}}))
rec("read", lambda: kv2.read_secret_version("app", raise_on_deleted_version=True))
rec("read_secret", lambda: kv2.read_secret("app", raise_on_deleted_version=True))
rec("cas_ok", lambda: kv2.create_or_update_secret("app", {"user": "bob"}, cas=1))
rec("cas_conflict", lambda: kv2.create_or_update_secret("app", {"user": "eve"}, cas=1))
rec("cas_zero_conflict", lambda: kv2.create_or_update_secret("app", {"user": "eve"}, cas=0))
rec("cas_zero_new", lambda: kv2.create_or_update_secret("fresh", {"x": "1"}, cas=0))
rec("cas_future", lambda: kv2.create_or_update_secret("fresh", {"x": "2"}, cas=5))
rec("patch", lambda: kv2.patch("app", {"pass": "p"}))
rec("patch_missing", lambda: kv2.patch("missing", {"pass": "p"}))
rec("read_v1", lambda: kv2.read_secret_version("app", version=1, raise_on_deleted_version=True))
rec("read_latest", lambda: kv2.read_secret_version("app", raise_on_deleted_version=False))
rec("subkeys", lambda: client.adapter.get("/v1/secret/subkeys/app", params={"depth": 1}))
rec("list_root", lambda: kv2.list_secrets(""))
rec("metadata", lambda: kv2.read_secret_metadata("app"))

# Custom metadata and max_versions pruning.
rec("update_metadata", lambda: kv2.update_metadata("app", max_versions=2, custom_metadata={"owner": "bob", "env": "prod"}))
rec("metadata_after", lambda: kv2.read_secret_metadata("app"))
rec("write_pruning", lambda: kv2.create_or_update_secret("app", {"user": "carol"}))
rec("metadata_pruned", lambda: kv2.read_secret_metadata("app"))
rec("read_pruned", lambda: kv2.read_secret_version("app", version=1, raise_on_deleted_version=False))
rec("custom_metadata_number", lambda: kv2.update_metadata("app", max_versions=2, custom_metadata={"k": 1}))
rec("custom_metadata_number_read", lambda: kv2.read_secret_metadata("app"))
rec("custom_metadata_long_key", lambda: kv2.update_metadata("app", custom_metadata={"k" * 129: "v"}))
rec("custom_metadata_long_value", lambda: kv2.update_metadata("app", custom_metadata={"k": "v" * 513}))
rec("custom_metadata_too_many", lambda: kv2.update_metadata("app", custom_metadata={str(i): "v" for i in range(65)}))
rec("custom_metadata_restore", lambda: kv2.update_metadata("app", max_versions=2, custom_metadata={"owner": "bob"}))
rec("metadata_first", lambda: kv2.update_metadata("pre", custom_metadata={"managed-by": "hvac"}))
rec("metadata_first_read", lambda: kv2.read_secret_metadata("pre"))
rec("metadata_first_data", lambda: kv2.read_secret_version("pre", raise_on_deleted_version=False))
rec("metadata_first_write", lambda: kv2.create_or_update_secret("pre", {"a": "b"}, cas=0))

# Soft delete, raise_on_deleted_version both ways, undelete, destroy.
rec("delete_latest", lambda: kv2.delete_latest_version_of_secret("app"))
rec("read_deleted_raise", lambda: kv2.read_secret_version("app", raise_on_deleted_version=True))
rec("read_deleted_noraise", lambda: kv2.read_secret_version("app", raise_on_deleted_version=False))
rec("read_secret_deleted_noraise", lambda: kv2.read_secret("app", raise_on_deleted_version=False))
rec("patch_deleted", lambda: kv2.patch("app", {"x": "y"}))
rec("undelete", lambda: kv2.undelete_secret_versions("app", [4]))
rec("read_undeleted", lambda: kv2.read_secret_version("app", raise_on_deleted_version=True))
rec("delete_versions", lambda: kv2.delete_secret_versions("app", [3]))
rec("read_v3_deleted", lambda: kv2.read_secret_version("app", version=3, raise_on_deleted_version=False))
rec("delete_pruned", lambda: kv2.delete_secret_versions("app", [1, 2]))
rec("destroy", lambda: kv2.destroy_secret_versions("app", [3]))
rec("read_destroyed_noraise", lambda: kv2.read_secret_version("app", version=3, raise_on_deleted_version=False))
rec("read_destroyed_raise", lambda: kv2.read_secret_version("app", version=3, raise_on_deleted_version=True))
rec("undelete_destroyed", lambda: kv2.undelete_secret_versions("app", [3]))
rec("metadata_destroyed", lambda: kv2.read_secret_metadata("app"))
rec("delete_no_versions", lambda: kv2.delete_secret_versions("app", []))
rec("destroy_missing", lambda: kv2.destroy_secret_versions("missing", [1]))

# Missing keys.
rec("read_missing_noraise", lambda: kv2.read_secret_version("missing", raise_on_deleted_version=False))
rec("read_missing_raise", lambda: kv2.read_secret_version("missing", raise_on_deleted_version=True))
rec("metadata_missing", lambda: kv2.read_secret_metadata("missing"))
rec("list_missing", lambda: kv2.list_secrets("missing"))

# Folders.
rec("create_nested", lambda: kv2.create_or_update_secret("dir/sub/x", {"a": "b"}))
rec("list_dir", lambda: kv2.list_secrets("dir"))
rec("list_dir_slash", lambda: kv2.list_secrets("dir/sub/"))

# Purge.
rec("delete_metadata", lambda: kv2.delete_metadata_and_all_versions("app"))
rec("read_after_purge", lambda: kv2.read_secret_version("app", raise_on_deleted_version=False))
rec("delete_metadata_again", lambda: kv2.delete_metadata_and_all_versions("app"))

# Mount configuration: cas_required, max_versions, delete_version_after.
rec("configure_strict", lambda: kv2.configure(max_versions=3, cas_required=True, delete_version_after="1h"))
rec("config_strict", lambda: kv2.read_configuration())
rec("write_without_cas", lambda: kv2.create_or_update_secret("c", {"a": "b"}))
rec("write_with_cas", lambda: kv2.create_or_update_secret("c", {"a": "b"}, cas=0))
rec("patch_with_cas_required", lambda: kv2.patch("c", {"a": "c"}))
rec("read_auto_delete", lambda: kv2.read_secret_version("c", raise_on_deleted_version=True))
rec("configure_back", lambda: kv2.configure(max_versions=0, cas_required=False, delete_version_after="0s"))
rec("config_back", lambda: kv2.read_configuration())

# KV v2 on a mount enabled through hvac.
rec("enable_v2", lambda: client.sys.enable_secrets_engine("kv", path="kv2", options={"version": "2"}))
rec("v2_mount_write", lambda: kv2.create_or_update_secret("a", {"b": "c"}, mount_point="kv2"))
rec("v2_mount_read", lambda: kv2.read_secret_version("a", mount_point="kv2", raise_on_deleted_version=True))
rec("v2_mount_v1_style_read", lambda: kv1.read_secret("a", mount_point="kv2"))

# KV v1.
rec("enable_v1", lambda: client.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"}))
rec("v1_create", lambda: kv1.create_or_update_secret("app", {"user": "alice", "ttl": "30m"}, mount_point="kv1"))
rec("v1_update", lambda: kv1.create_or_update_secret("app", {"user": "bob", "ttl": "30m"}, mount_point="kv1"))
rec("v1_create_post", lambda: kv1.create_or_update_secret("post", {"a": 1}, method="POST", mount_point="kv1"))
rec("v1_create_put", lambda: kv1.create_or_update_secret("put", {"a": [1, 2]}, method="PUT", mount_point="kv1"))
rec("v1_create_nested", lambda: kv1.create_or_update_secret("dir/x", {"n": 5}, mount_point="kv1"))
rec("v1_read", lambda: kv1.read_secret("app", mount_point="kv1"))
rec("v1_read_put", lambda: kv1.read_secret("put", mount_point="kv1"))
rec("v1_list", lambda: kv1.list_secrets("", mount_point="kv1"))
rec("v1_list_dir", lambda: kv1.list_secrets("dir", mount_point="kv1"))
rec("v1_delete", lambda: kv1.delete_secret("dir/x", mount_point="kv1"))
rec("v1_delete_again", lambda: kv1.delete_secret("dir/x", mount_point="kv1"))
rec("v1_read_deleted", lambda: kv1.read_secret("dir/x", mount_point="kv1"))
rec("v1_list_empty", lambda: kv1.list_secrets("dir", mount_point="kv1"))
rec("v1_v2_method", lambda: kv2.read_secret_version("app", mount_point="kv1", raise_on_deleted_version=True))
print(json.dumps(out))
"#;

fn run(py: &PyEnv, addr: &str) -> Value {
    let out = py
        .hvac(addr, Some(TOKEN), SCRIPT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.code, 0, "hvac script against {addr}: {}", out.stderr);
    let mut v = out.json().unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    normalise_times(&mut v);
    v
}

#[test]
fn hvac_kv_methods_match_openbao() {
    let Some(py) = py() else { return };
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| run(&py, &arca.addr));
        let b = run(&py, &openbao.addr);
        (a.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), b)
    });

    // What hvac users get from Arca, on its own.
    let rs = |name: &str| a[name]["response_status"].clone();
    let exc = |name: &str| a[name]["exception"].clone();
    assert_eq!(
        a["read"]["data"]["data"],
        json!({"user": "alice", "n": 1, "nested": {"a": [1, null]}})
    );
    assert_eq!(a["cas_ok"]["data"]["version"], 2);
    assert_eq!(exc("cas_conflict"), "InvalidRequest");
    assert_eq!(
        a["cas_conflict"]["errors"],
        json!(["check-and-set parameter did not match the current version"])
    );
    assert_eq!(exc("cas_zero_conflict"), "InvalidRequest");
    assert_eq!(a["cas_zero_new"]["data"]["version"], 1);
    // hvac's patch is client-side: read, then a CAS write.
    assert_eq!(a["patch"]["data"]["version"], 3);
    assert_eq!(
        a["read_latest"]["data"]["data"],
        json!({"user": "bob", "pass": "p"})
    );
    assert_eq!(rs("update_metadata"), 204);
    assert_eq!(
        a["metadata_after"]["data"]["custom_metadata"],
        json!({"owner": "bob", "env": "prod"})
    );
    let pruned = &a["metadata_pruned"]["data"];
    assert_eq!(
        (
            &pruned["current_version"],
            &pruned["oldest_version"],
            pruned["versions"].as_object().map(|m| m.len())
        ),
        (&json!(4), &json!(3), Some(2))
    );
    assert_eq!(exc("read_pruned"), "InvalidPath");
    assert_eq!(exc("custom_metadata_long_key"), "InvalidRequest");
    assert_eq!(
        a["metadata_first_read"]["data"]["current_version"],
        json!(0)
    );
    assert_eq!(a["metadata_first_write"]["data"]["version"], 1);
    // raise_on_deleted_version: True raises on the 404, False returns its envelope.
    assert_eq!(exc("read_deleted_raise"), "InvalidPath");
    let deleted = &a["read_deleted_noraise"]["data"];
    assert_eq!(deleted["data"], Value::Null);
    assert_eq!(deleted["metadata"]["deletion_time"], "<time>");
    assert_eq!(deleted["metadata"]["version"], 4);
    assert_eq!(a["read_undeleted"]["data"]["metadata"]["version"], 4);
    assert_eq!(
        a["read_destroyed_noraise"]["data"]["metadata"]["destroyed"],
        true
    );
    assert_eq!(exc("read_missing_noraise"), "InvalidPath");
    assert_eq!(exc("list_missing"), "InvalidPath");
    assert_eq!(
        a["list_dir"]["data"]["keys"],
        json!(["sub/"]),
        "{}",
        a["list_dir"]
    );
    assert_eq!(exc("write_without_cas"), "InvalidRequest");
    assert_eq!(
        a["read_auto_delete"]["data"]["metadata"]["deletion_time"],
        "<time>"
    );
    assert_eq!(rs("v1_create"), 204);
    assert_eq!(a["v1_read"]["lease_duration"], 1800);
    assert_eq!(a["v1_read_put"]["data"], json!({"a": [1, 2]}));
    assert_eq!(
        a["v1_list"]["data"]["keys"],
        json!(["app", "dir/", "post", "put"])
    );
    assert_eq!(exc("v1_list_empty"), "InvalidPath");

    // And the differential view. The one difference is deliberate (docs/compatibility.md):
    // OpenBao quotes the offending custom_metadata key in its error; Arca never echoes
    // request data into errors.
    const NO_ECHO: &str = "the error does not quote the key";
    JsonDiff::new().mask(&["request_id"]).assert_matches(
        "hvac kv script",
        &a,
        &b,
        &[
            ("/custom_metadata_long_key/errors/0", NO_ECHO),
            ("/custom_metadata_long_key/json/errors/0", NO_ECHO),
            ("/custom_metadata_long_value/errors/0", NO_ECHO),
            ("/custom_metadata_long_value/json/errors/0", NO_ECHO),
        ],
    );
    assert_eq!(
        a["custom_metadata_long_key"]["errors"],
        json!([
            "1 error occurred:\n\t* custom_metadata validation failed: length of a key is 129 but \
             must be 0 < len(key) <= 128\n\n"
        ])
    );
}
