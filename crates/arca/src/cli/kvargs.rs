//! `key=value` command arguments as the Vault CLI reads them (its `kv-builder`): `k=v`,
//! `k=@file` (file contents), `k=\@x` (a literal `@x`), `k=-` (stdin), `@file.json` and
//! `-` (a JSON object merged in), repeated keys collected into a list.

use std::io::Read;

use serde_json::{Map, Value};

/// Why the arguments could not be parsed. Never contains argument values (they may be
/// secrets); file errors name the file, which the user typed as a path.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// An argument without `=` that is neither `-` nor `@file`.
    #[error("invalid key/value pair: format must be key=value")]
    Format,
    /// Standard input was requested twice.
    #[error("invalid key/value pair: stdin already consumed")]
    StdinTwice,
    /// A file could not be read.
    #[error("error reading file {path}: {reason}")]
    File {
        /// The path after `@`.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// Standard input could not be read.
    #[error("error reading stdin: {0}")]
    Stdin(String),
    /// `-` or `@file` did not hold a JSON object.
    #[error("invalid JSON object: {0}")]
    Json(String),
    /// A value that cannot be turned into a string (for string-only arguments).
    #[error("failed to convert values to strings")]
    NotString,
}

/// Builds the data map. `None` when there are no arguments at all (the write then sends
/// `null`, as Vault's CLI does).
pub fn parse(args: &[String], stdin: &mut dyn Read) -> Result<Option<Map<String, Value>>, KvError> {
    let mut result: Option<Map<String, Value>> = None;
    let mut stdin_used = false;
    for raw in args {
        let map = result.get_or_insert_with(Map::new);
        if raw.is_empty() {
            continue;
        }
        let Some((key, value)) = raw.split_once('=') else {
            if raw == "-" {
                if stdin_used {
                    return Err(KvError::StdinTwice);
                }
                stdin_used = true;
                let mut buf = Vec::new();
                stdin
                    .read_to_end(&mut buf)
                    .map_err(|e| KvError::Stdin(e.to_string()))?;
                merge_json(map, &buf)?;
                continue;
            }
            if let Some(path) = raw.strip_prefix('@') {
                let bytes = std::fs::read(path).map_err(|e| KvError::File {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
                merge_json(map, &bytes)?;
                continue;
            }
            return Err(KvError::Format);
        };
        let value = if let Some(path) = value.strip_prefix('@') {
            std::fs::read_to_string(path).map_err(|e| KvError::File {
                path: path.to_owned(),
                reason: e.to_string(),
            })?
        } else if let Some(literal) = value.strip_prefix('\\').filter(|v| v.starts_with('@')) {
            literal.to_owned()
        } else if value == "-" {
            if stdin_used {
                return Err(KvError::StdinTwice);
            }
            stdin_used = true;
            let mut buf = String::new();
            stdin
                .read_to_string(&mut buf)
                .map_err(|e| KvError::Stdin(e.to_string()))?;
            buf
        } else {
            value.to_owned()
        };
        match map.get_mut(key) {
            Some(Value::Array(list)) => list.push(Value::String(value)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(value)]);
            }
            None => {
                map.insert(key.to_owned(), Value::String(value));
            }
        }
    }
    Ok(result)
}

/// Decodes the first JSON value of `bytes` (as Go's streaming decoder does) and merges its
/// keys into `map`.
fn merge_json(map: &mut Map<String, Value>, bytes: &[u8]) -> Result<(), KvError> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    match stream.next() {
        Some(Ok(Value::Object(obj))) => {
            map.extend(obj);
            Ok(())
        }
        Some(Ok(Value::Null)) => Ok(()),
        Some(Ok(_)) => Err(KvError::Json("expected an object".into())),
        Some(Err(e)) => Err(KvError::Json(e.to_string())),
        None => Err(KvError::Json("EOF".into())),
    }
}

/// Go's weak decoding of a value to a string (`mapstructure.WeakDecode`).
fn weak_string(v: &Value) -> Result<String, KvError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_owned()),
        Value::Null => Ok(String::new()),
        _ => Err(KvError::NotString),
    }
}

/// The arguments as a string map (`login`'s configuration).
pub fn parse_strings(
    args: &[String],
    stdin: &mut dyn Read,
) -> Result<Vec<(String, String)>, KvError> {
    let map = parse(args, stdin)?.unwrap_or_default();
    map.iter()
        .map(|(k, v)| Ok((k.clone(), weak_string(v)?)))
        .collect()
}

/// The arguments as string lists (query parameters of `read` and `delete`), flattened to
/// `(key, value)` pairs.
pub fn parse_string_lists(
    args: &[String],
    stdin: &mut dyn Read,
) -> Result<Vec<(String, String)>, KvError> {
    let map = parse(args, stdin)?.unwrap_or_default();
    let mut out = Vec::new();
    for (k, v) in &map {
        match v {
            Value::Array(items) => {
                for i in items {
                    out.push((k.clone(), weak_string(i)?));
                }
            }
            other => out.push((k.clone(), weak_string(other)?)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    fn p(args: &[&str], stdin: &str) -> Result<Option<Map<String, Value>>, KvError> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parse(&args, &mut stdin.as_bytes())
    }

    #[test]
    fn pairs_files_stdin_and_repeats() {
        assert_eq!(p(&[], "").unwrap(), None);
        assert_eq!(p(&[""], "").unwrap(), Some(Map::new()));
        let m = p(&["a=1", "b=x=y", "a=2", "a=3", "c=\\@lit", "d="], "")
            .unwrap()
            .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"a": ["1", "2", "3"], "b": "x=y", "c": "@lit", "d": ""})
        );
        let m = p(&["k=-"], "from stdin\n").unwrap().unwrap();
        assert_eq!(m["k"], json!("from stdin\n"));
        let m = p(&["-", "z=1"], r#"{"n": 5, "o": {"p": true}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"n": 5, "o": {"p": true}, "z": "1"})
        );
        assert!(matches!(p(&["-", "k=-"], "{}"), Err(KvError::StdinTwice)));
        assert!(matches!(p(&["novalue"], ""), Err(KvError::Format)));
        assert!(matches!(p(&["-"], "[1]"), Err(KvError::Json(_))));
    }

    #[test]
    fn files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.txt");
        std::fs::write(&f, "file value").unwrap();
        let j = dir.path().join("d.json");
        std::fs::write(&j, r#"{"from": "json"}"#).unwrap();
        let m = p(
            &[&format!("k=@{}", f.display()), &format!("@{}", j.display())],
            "",
        )
        .unwrap()
        .unwrap();
        assert_eq!(Value::Object(m), json!({"k": "file value", "from": "json"}));
        let e = p(&["k=@/nonexistent/file"], "").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/file"));
    }

    #[test]
    fn errors_never_echo_values() {
        let e = p(&["s.supersecret"], "").unwrap_err();
        assert!(!e.to_string().contains("supersecret"));
    }

    #[test]
    fn string_views() {
        let args = vec!["a=1".to_owned(), "a=2".to_owned(), "b=x".to_owned()];
        assert_eq!(
            parse_string_lists(&args, &mut "".as_bytes()).unwrap(),
            [
                ("a".into(), "1".into()),
                ("a".into(), "2".into()),
                ("b".into(), "x".into())
            ]
        );
        let args = vec!["-".to_owned()];
        assert_eq!(
            parse_strings(&args, &mut r#"{"n": 1, "t": true}"#.as_bytes()).unwrap(),
            [("n".into(), "1".into()), ("t".into(), "1".into())]
        );
    }
}
