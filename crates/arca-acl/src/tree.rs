//! HCL and JSON policy text, both read into one small value tree.
//!
//! Vault parses policies with HCL1, which also reads JSON when the text starts with `{`; we do
//! the same detection. HCL blocks become nested objects (`path "a" { … }` is
//! `path = { "a" = { … } }`), and repeated keys are kept in order rather than merged, so that two
//! stanzas for one pattern both reach the ACL builder.

use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Body, Structure};

use crate::error::PolicyError;

/// A literal value from a policy document.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Node>),
    /// Entries in document order; keys may repeat.
    Object(Vec<(String, Node)>),
}

impl Node {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => serde_json::Value::Bool(*b),
            Node::Number(n) => serde_json::Value::Number(n.clone()),
            Node::String(s) => serde_json::Value::String(s.clone()),
            Node::List(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Node::Object(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses a policy document into its top-level entries.
pub(crate) fn parse_document(text: &str) -> Result<Vec<(String, Node)>, PolicyError> {
    if text.trim_start().starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PolicyError::Syntax {
                line: e.line(),
                column: e.column(),
            })?;
        match from_json(value) {
            Node::Object(entries) => Ok(entries),
            _ => Err(PolicyError::NotAnObject),
        }
    } else {
        let body = match hcl::edit::parser::parse_body(text) {
            Ok(body) => body,
            // Retry HCL1 layouts once; if that fails too, report the original error.
            Err(err) => crate::hcl1::relayout(text)
                .and_then(|t| hcl::edit::parser::parse_body(&t).ok())
                .ok_or(PolicyError::Syntax {
                    line: err.location().line(),
                    column: err.location().column(),
                })?,
        };
        from_body(&body)
    }
}

fn from_json(value: serde_json::Value) -> Node {
    match value {
        serde_json::Value::Null => Node::Null,
        serde_json::Value::Bool(b) => Node::Bool(b),
        serde_json::Value::Number(n) => Node::Number(n),
        serde_json::Value::String(s) => Node::String(s),
        serde_json::Value::Array(items) => Node::List(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(map) => {
            Node::Object(map.into_iter().map(|(k, v)| (k, from_json(v))).collect())
        }
    }
}

fn from_body(body: &Body) -> Result<Vec<(String, Node)>, PolicyError> {
    let mut entries = Vec::with_capacity(body.len());
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                entries.push((attr.key.as_str().to_owned(), from_expr(&attr.value)?));
            }
            Structure::Block(block) => {
                // `ident "l1" "l2" { body }` is `ident = { l1 = { l2 = body } }`, as in HCL1.
                let mut value = Node::Object(from_body(&block.body)?);
                for label in block.labels.iter().rev() {
                    value = Node::Object(vec![(label.as_str().to_owned(), value)]);
                }
                entries.push((block.ident.as_str().to_owned(), value));
            }
        }
    }
    Ok(entries)
}

fn from_expr(expr: &Expression) -> Result<Node, PolicyError> {
    Ok(match expr {
        Expression::Null(_) => Node::Null,
        Expression::Bool(b) => Node::Bool(*b.value()),
        Expression::Number(n) => Node::Number(number(n.value())?),
        Expression::String(s) => Node::String(s.value().clone()),
        Expression::Array(array) => {
            Node::List(array.iter().map(from_expr).collect::<Result<_, _>>()?)
        }
        Expression::Object(object) => {
            let mut entries = Vec::with_capacity(object.len());
            for (key, value) in object.iter() {
                let key = match key {
                    ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                    ObjectKey::Expression(_) => return Err(PolicyError::UnsupportedExpression),
                };
                entries.push((key, from_expr(value.expr())?));
            }
            Node::Object(entries)
        }
        // HCL1 has no interpolation: `"${x}"` is the literal text it was written as.
        Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => {
            match hcl::Value::from(hcl::Expression::from(expr.clone())) {
                hcl::Value::String(s) => Node::String(s),
                _ => return Err(PolicyError::UnsupportedExpression),
            }
        }
        Expression::Parenthesis(inner) => from_expr(inner.inner())?,
        Expression::UnaryOp(op)
            if matches!(op.operator.value(), hcl::UnaryOperator::Neg)
                && matches!(op.expr, Expression::Number(_)) =>
        {
            match &op.expr {
                Expression::Number(n) => Node::Number(negate(n.value())?),
                _ => return Err(PolicyError::UnsupportedExpression),
            }
        }
        _ => return Err(PolicyError::UnsupportedExpression),
    })
}

fn number(n: &hcl::Number) -> Result<serde_json::Number, PolicyError> {
    if let Some(u) = n.as_u64() {
        Ok(u.into())
    } else if let Some(i) = n.as_i64() {
        Ok(i.into())
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .ok_or(PolicyError::UnsupportedExpression)
    }
}

fn negate(n: &hcl::Number) -> Result<serde_json::Number, PolicyError> {
    if let Some(i) = n.as_i64().and_then(i64::checked_neg) {
        Ok(i.into())
    } else {
        n.as_f64()
            .and_then(|f| serde_json::Number::from_f64(-f))
            .ok_or(PolicyError::UnsupportedExpression)
    }
}
