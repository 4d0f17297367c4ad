//! Vault reads policies with HCL1, which accepts layouts that HCL2 (hcl-rs) refuses: a block
//! whose attributes start on the line of its `{` (`path "a" { capabilities = ["read"]` followed
//! by more lines), several attributes on one line, and attributes separated by commas. When a
//! policy fails to parse as HCL2, it is retried once after this rewrite, which adds a line break
//! after every block's `{`, before its `}`, and in place of a comma directly inside a block.
//! Strings, comments, heredocs and object/list expressions are left as they are.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Block,
    Expression,
}

/// The rewritten text, or `None` when nothing needed rewriting.
pub(crate) fn relayout(src: &str) -> Option<String> {
    let mut out = String::with_capacity(src.len() + 32);
    let mut changed = false;
    let mut scopes: Vec<Scope> = Vec::new();
    // The last non-blank character emitted: `{` after `=` or `:` opens an object, not a block.
    let mut last = '\n';
    let mut rest = src;
    while let Some(c) = rest.chars().next() {
        let verbatim = if c == '#' || rest.starts_with("//") {
            Some(rest.find('\n').unwrap_or(rest.len()))
        } else if let Some(comment) = rest.strip_prefix("/*") {
            Some(comment.find("*/").map_or(rest.len(), |i| i + 4))
        } else if c == '"' {
            Some(quoted_len(rest))
        } else {
            heredoc_len(rest)
        };
        if let Some(len) = verbatim {
            out.push_str(&rest[..len]);
            if c == '"' || c == '<' {
                last = '"';
            }
            rest = &rest[len..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        let in_block = !matches!(scopes.last(), Some(Scope::Expression));
        match c {
            '{' if in_block && !matches!(last, '=' | ':') => {
                out.push_str("{\n");
                changed = true;
                scopes.push(Scope::Block);
            }
            '{' | '[' | '(' => {
                out.push(c);
                scopes.push(Scope::Expression);
            }
            '}' => {
                if scopes.pop() == Some(Scope::Block) {
                    out.push('\n');
                    changed = true;
                }
                out.push('}');
            }
            ']' | ')' => {
                scopes.pop();
                out.push(c);
            }
            ',' if scopes.last() == Some(&Scope::Block) => {
                out.push('\n');
                changed = true;
            }
            _ => out.push(c),
        }
        if !c.is_whitespace() {
            last = c;
        }
    }
    changed.then_some(out)
}

/// Length of the string literal at the start of `s`, closing quote included (to the end of the
/// line when unterminated; the parser then reports it).
fn quoted_len(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '\n' => return i,
            '"' if !escaped => return i + 1,
            '\\' if !escaped => escaped = true,
            _ => escaped = false,
        }
    }
    s.len()
}

/// Length of the heredoc (`<<EOT` / `<<-EOT` … `EOT`) at the start of `s`, if one starts there.
fn heredoc_len(s: &str) -> Option<usize> {
    let head = s.strip_prefix("<<")?;
    let head = head.strip_prefix('-').unwrap_or(head);
    let name_len = head
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(head.len());
    let name = &head[..name_len];
    if name.is_empty() {
        return None;
    }
    let mut pos = s.find('\n')? + 1;
    while pos < s.len() {
        let end = s[pos..].find('\n').map_or(s.len(), |i| pos + i);
        if s[pos..end].trim() == name {
            return Some(end);
        }
        pos = end + 1;
    }
    Some(s.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn blocks_get_their_own_lines() {
        assert_eq!(
            relayout("path \"a\" { capabilities = [\"read\", \"list\"], policy = \"x\" }").unwrap(),
            "path \"a\" {\n capabilities = [\"read\", \"list\"]\n policy = \"x\" \n}"
        );
        assert_eq!(
            relayout("path \"a\" { x = { k = [1, 2], \"j\" = [] } }").unwrap(),
            "path \"a\" {\n x = { k = [1, 2], \"j\" = [] } \n}"
        );
    }

    #[test]
    fn strings_comments_and_heredocs_are_kept() {
        assert!(relayout("# { , }\n// { }\n/* { , } */\nx = \"{ \\\" , }\"\n").is_none());
        assert!(relayout("y = <<EOT\n{ , }\nEOT\n").is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(src in "[a-z =\"{}\\[\\](),#/*<\n\\\\:-]{0,80}") {
            let _ = relayout(&src);
        }
    }
}
