//! One syntax tree for both config syntaxes, with the line of every key and value.
//!
//! HCL and JSON config files say the same thing in different shapes (`listener "tcp" {…}` versus
//! `"listener": {"tcp": {…}}` or `"listener": [{"tcp": {…}}]`). Both are read into [`Node`]s that
//! keep duplicate keys in order and remember lines, so the decoder has one code path and every
//! error can name its line. Neither hcl-rs's `Body` nor `serde_json::Value` keeps positions.

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Body, Structure};

/// A value with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Node>),
    /// An object; keys may repeat (repeated HCL blocks, or a sloppy JSON file).
    Object(Vec<Entry>),
    /// An HCL block body with its labels (`listener "tcp" {…}` has labels `["tcp"]`).
    Block {
        labels: Vec<String>,
        body: Vec<Entry>,
    },
}

/// `key = value` (or a block named `key`), with the key's line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub line: usize,
    pub value: Node,
}

/// A syntax error: line and a message that quotes no file content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    /// The key at fault, when the parser can tell.
    pub key: Option<String>,
    pub message: String,
}

impl Kind {
    /// A short noun for "expected X, found Y" messages.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number(_) => "a number",
            Kind::String(_) => "a string",
            Kind::List(_) => "a list",
            Kind::Object(_) => "an object",
            Kind::Block { .. } => "a block",
        }
    }
}

impl Node {
    /// The value as plain JSON, for blocks kept raw (seal, audit). Repeated keys become an array,
    /// as hcl-rs does for repeated blocks; block labels become nested objects, as in Vault's
    /// JSON config form.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Number(n) => Value::Number(n.clone()),
            Kind::String(s) => Value::String(s.clone()),
            Kind::List(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Object(entries) => entries_to_json(entries),
            Kind::Block { labels, body } => {
                let mut value = entries_to_json(body);
                for label in labels.iter().rev() {
                    let mut map = serde_json::Map::new();
                    map.insert(label.clone(), value);
                    value = Value::Object(map);
                }
                value
            }
        }
    }
}

pub(crate) fn entries_to_json(entries: &[Entry]) -> serde_json::Value {
    use serde_json::Value;
    let mut map = serde_json::Map::new();
    for entry in entries {
        let value = entry.value.to_json();
        match map.get_mut(&entry.key) {
            None => {
                map.insert(entry.key.clone(), value);
            }
            // A second `options {}` block or a repeated key: collect, don't drop.
            Some(Value::Array(items)) if entry.value.is_block() => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    Value::Object(map)
}

impl Node {
    fn is_block(&self) -> bool {
        matches!(self.kind, Kind::Block { .. })
    }
}

// ---------------------------------------------------------------------------------------------
// HCL

/// Byte offset → line of the original file, by binary search over line starts (and through
/// the HCL1 normaliser's line map when the text was rewritten).
struct Lines {
    starts: Vec<usize>,
    original: Option<Vec<usize>>,
}

impl Lines {
    fn new(text: &str, original: Option<Vec<usize>>) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts, original }
    }

    fn line(&self, offset: usize) -> usize {
        let line = self.starts.partition_point(|&start| start <= offset);
        match &self.original {
            Some(map) => map.get(line.wrapping_sub(1)).copied().unwrap_or(line),
            None => line,
        }
    }

    fn of(&self, span: Option<std::ops::Range<usize>>, fallback: usize) -> usize {
        span.map_or(fallback, |r| self.line(r.start))
    }
}

/// Parses an HCL config file into a top-level [`Kind::Object`]. Text that HCL2 rejects is
/// retried once through the HCL1 normaliser; if that fails too, the error is the original one.
pub(crate) fn parse_hcl(text: &str) -> Result<Node, SyntaxError> {
    let (body, lines) = match hcl::edit::parser::parse_body(text) {
        Ok(body) => (body, Lines::new(text, None)),
        Err(err) => {
            let retry = crate::hcl1::normalize(text).and_then(|n| {
                let body = hcl::edit::parser::parse_body(&n.text).ok()?;
                Some((body, Lines::new(&n.text, Some(n.original_lines))))
            });
            retry.ok_or_else(|| hcl_syntax_error(text, &err))?
        }
    };
    Ok(Node {
        line: 1,
        kind: Kind::Object(hcl_body(&body, &lines, 1)?),
    })
}

fn hcl_syntax_error(text: &str, err: &hcl::edit::parser::Error) -> SyntaxError {
    let location = err.location();
    // HCL2 forbids setting an attribute twice (HCL1 let the last one win); name the key.
    if err.message().contains("redefined attribute") {
        let key: String = text
            .get(location.offset()..)
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
            .collect();
        if !key.is_empty() {
            return SyntaxError {
                line: location.line(),
                message: "set more than once in the same block".to_owned(),
                key: Some(key),
            };
        }
    }
    SyntaxError {
        line: location.line(),
        key: None,
        // The message names expected tokens only; the offending line is not repeated because
        // it may hold a secret (a seal token, a connection URL).
        message: format!("column {}: {}", location.column(), err.message()),
    }
}

fn hcl_body(body: &Body, lines: &Lines, parent_line: usize) -> Result<Vec<Entry>, SyntaxError> {
    let mut entries = Vec::with_capacity(body.len());
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let line = lines.of(attr.span().or_else(|| attr.key.span()), parent_line);
                entries.push(Entry {
                    key: attr.key.as_str().to_owned(),
                    line,
                    value: hcl_expr(&attr.value, lines, line)?,
                });
            }
            Structure::Block(block) => {
                let line = lines.of(block.span().or_else(|| block.ident.span()), parent_line);
                entries.push(Entry {
                    key: block.ident.as_str().to_owned(),
                    line,
                    value: Node {
                        line,
                        kind: Kind::Block {
                            labels: block.labels.iter().map(|l| l.as_str().to_owned()).collect(),
                            body: hcl_body(&block.body, lines, line)?,
                        },
                    },
                });
            }
        }
    }
    Ok(entries)
}

fn hcl_expr(expr: &Expression, lines: &Lines, parent_line: usize) -> Result<Node, SyntaxError> {
    let line = lines.of(expr.span(), parent_line);
    let kind = match expr {
        Expression::Null(_) => Kind::Null,
        Expression::Bool(b) => Kind::Bool(*b.value()),
        Expression::Number(n) => Kind::Number(hcl_number(n.value(), line)?),
        Expression::String(s) => Kind::String(s.value().clone()),
        Expression::Array(array) => Kind::List(
            array
                .iter()
                .map(|item| hcl_expr(item, lines, line))
                .collect::<Result<_, _>>()?,
        ),
        Expression::Object(object) => {
            let mut entries = Vec::with_capacity(object.len());
            for (key, value) in object.iter() {
                let key_line = lines.of(key.span(), line);
                let key = match key {
                    ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                    ObjectKey::Expression(_) => {
                        return Err(SyntaxError {
                            line: key_line,
                            key: None,
                            message: "object keys must be names or quoted strings".to_owned(),
                        });
                    }
                };
                entries.push(Entry {
                    key,
                    line: key_line,
                    value: hcl_expr(value.expr(), lines, key_line)?,
                });
            }
            Kind::Object(entries)
        }
        // Vault's HCL1 has no interpolation: a template is the literal text it was written as.
        Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => {
            match hcl::Value::from(hcl::Expression::from(expr.clone())) {
                hcl::Value::String(s) => Kind::String(s),
                _ => return Err(unsupported_expression(line)),
            }
        }
        Expression::Parenthesis(inner) => return hcl_expr(inner.inner(), lines, line),
        _ => return Err(unsupported_expression(line)),
    };
    Ok(Node { line, kind })
}

fn hcl_number(n: &hcl::Number, line: usize) -> Result<serde_json::Number, SyntaxError> {
    if let Some(u) = n.as_u64() {
        Ok(u.into())
    } else if let Some(i) = n.as_i64() {
        Ok(i.into())
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .ok_or(SyntaxError {
                line,
                key: None,
                message: "number out of range".to_owned(),
            })
    }
}

fn unsupported_expression(line: usize) -> SyntaxError {
    SyntaxError {
        line,
        key: None,
        message: "expressions (variables, functions, operators) are not supported in \
                  configuration files; use a literal value"
            .to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Parses a JSON config file. serde_json validates it first (and gives the syntax error's line);
/// a small position-tracking reader then builds the tree, keeping duplicate keys and lines.
pub(crate) fn parse_json(text: &str) -> Result<Node, SyntaxError> {
    if let Err(err) = serde_json::from_str::<serde_json::Value>(text) {
        return Err(SyntaxError {
            line: err.line().max(1),
            key: None,
            message: json_error_message(&err),
        });
    }
    let mut reader = JsonReader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    reader.value().map_err(|()| SyntaxError {
        line: reader.line,
        key: None,
        message: "malformed JSON".to_owned(),
    })
}

/// serde_json's message without its " at line L column C" suffix (we print our own position).
fn json_error_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    format!("column {}: {message}", err.column())
}

/// Reads text that serde_json has already accepted, so it only needs to be correct on valid
/// JSON; any surprise is reported as malformed rather than trusted. Nesting depth is bounded by
/// serde_json's recursion limit (128), which the validation pass enforced.
struct JsonReader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl JsonReader<'_> {
    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> Result<(), ()> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(())
        }
    }

    fn value(&mut self) -> Result<Node, ()> {
        self.skip_ws();
        let line = self.line;
        let kind = match self.peek().ok_or(())? {
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.skip_ws();
                        let key_line = self.line;
                        let key = self.string()?;
                        self.eat(b':')?;
                        let value = self.value()?;
                        entries.push(Entry {
                            key,
                            line: key_line,
                            value,
                        });
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(()),
                        }
                    }
                }
                Kind::Object(entries)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(()),
                        }
                    }
                }
                Kind::List(items)
            }
            b'"' => Kind::String(self.string()?),
            b't' => self.literal("true", Kind::Bool(true))?,
            b'f' => self.literal("false", Kind::Bool(false))?,
            b'n' => self.literal("null", Kind::Null)?,
            _ => {
                let start = self.pos;
                while let Some(b) = self.peek() {
                    if !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                        break;
                    }
                    self.pos += 1;
                }
                let number = self.text.get(start..self.pos).ok_or(())?;
                Kind::Number(serde_json::from_str(number).map_err(|_| ())?)
            }
        };
        Ok(Node { line, kind })
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<Kind, ()> {
        if self.text.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(())
        }
    }

    /// A string token, decoded by serde_json (escapes, surrogate pairs). Valid JSON strings hold
    /// no raw newlines, so the line count is unaffected.
    fn string(&mut self) -> Result<String, ()> {
        if self.peek() != Some(b'"') {
            return Err(());
        }
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek().ok_or(())? {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    break;
                }
                _ => self.pos += 1,
            }
        }
        let token = self.text.get(start..self.pos).ok_or(())?;
        serde_json::from_str(token).map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn keys_and_lines(node: &Node) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        fn walk(node: &Node, prefix: &str, out: &mut Vec<(String, usize)>) {
            let entries = match &node.kind {
                Kind::Object(e) | Kind::Block { body: e, .. } => e,
                Kind::List(items) => {
                    for item in items {
                        walk(item, prefix, out);
                    }
                    return;
                }
                _ => return,
            };
            for e in entries {
                let path = format!("{prefix}{}", e.key);
                out.push((path.clone(), e.line));
                walk(&e.value, &format!("{path}."), out);
            }
        }
        walk(node, "", &mut out);
        out
    }

    #[test]
    fn hcl_lines_of_attributes_blocks_and_object_keys() {
        let text = "# comment\n\nui = true\nlistener \"tcp\" {\n  # c\n  address = \"x\"\n  n = -5\n  obj = {\n    a = 1\n    \"b\" = [1, 2]\n  }\n}\n";
        let node = parse_hcl(text).unwrap();
        assert_eq!(
            keys_and_lines(&node),
            vec![
                ("ui".to_owned(), 3),
                ("listener".to_owned(), 4),
                ("listener.address".to_owned(), 6),
                ("listener.n".to_owned(), 7),
                ("listener.obj".to_owned(), 8),
                ("listener.obj.a".to_owned(), 9),
                ("listener.obj.b".to_owned(), 10),
            ]
        );
    }

    #[test]
    fn hcl_values() {
        let text = "a = -5\nb = 1.5\nc = \"${x}y\"\nd = null\ne = (3)\nf = <<EOT\nhello\nEOT\n";
        let node = parse_hcl(text).unwrap();
        let json = node.to_json();
        assert_eq!(
            json,
            serde_json::json!({"a": -5, "b": 1.5, "c": "${x}y", "d": null, "e": 3, "f": "hello\n"})
        );
    }

    #[test]
    fn hcl_expressions_are_rejected_with_line() {
        for text in [
            "a = 1\nb = var.x\n",
            "a = 1\nb = 1 + 2\n",
            "a = 1\nb = f(1)\n",
        ] {
            let err = parse_hcl(text).unwrap_err();
            assert_eq!(err.line, 2, "{text}");
        }
    }

    #[test]
    fn hcl_syntax_error_does_not_quote_the_line() {
        let err = parse_hcl("a = 1\ntoken = \"s.secret\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(!err.message.contains("s.secret"), "{}", err.message);
    }

    #[test]
    fn json_lines_and_duplicates() {
        let text = "{\n  \"ui\": true,\n  \"listener\": [\n    {\"tcp\": {\n      \"address\": \"a\\\"b\"\n    }},\n    {\"tcp\": {}}\n  ],\n  \"ui\": false\n}\n";
        let node = parse_json(text).unwrap();
        assert_eq!(
            keys_and_lines(&node),
            vec![
                ("ui".to_owned(), 2),
                ("listener".to_owned(), 3),
                ("listener.tcp".to_owned(), 4),
                ("listener.tcp.address".to_owned(), 5),
                ("listener.tcp".to_owned(), 7),
                ("ui".to_owned(), 9),
            ]
        );
    }

    #[test]
    fn json_syntax_error_line() {
        let err = parse_json("{\n  \"a\": 1,\n  \"b\": ,\n}\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(!err.message.contains(" at line "), "{}", err.message);
    }

    #[test]
    fn block_labels_become_nested_json() {
        let node =
            parse_hcl("audit \"file\" \"f/\" {\n options { file_path = \"/x\" }\n}\n").unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"audit": {"file": {"f/": {"options": {"file_path": "/x"}}}}})
        );
    }

    #[test]
    fn repeated_blocks_become_arrays() {
        let node = parse_hcl("r {\n a = 1\n}\nr {\n a = 2\n}\nr {\n a = 3\n}\n").unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"r": [{"a": 1}, {"a": 2}, {"a": 3}]})
        );
    }

    proptest! {
        #[test]
        fn json_reader_agrees_with_serde_json(value in arb_json()) {
            let text = serde_json::to_string_pretty(&value).unwrap();
            let node = parse_json(&text).unwrap();
            prop_assert_eq!(node.to_json(), value);
        }

        #[test]
        fn parsers_never_panic(text in "\\PC{0,64}") {
            let _ = parse_json(&text);
            let _ = parse_hcl(&text);
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\"\\\\]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
