//! A pre-normaliser for the HCL1 forms that Vault configs use and HCL2 (hcl-rs) rejects:
//! one-line blocks holding more than one attribute or a nested block
//! (`audit "file" "f/" { options { file_path = "/x" } }`) and comma-separated attributes in a
//! block (`listener "tcp" { address = "x", tls_disable = true }`).
//!
//! It puts a line break after every block's `{` and before its `}`, and turns commas directly in
//! a block body into line breaks. Object expressions (`x = { a = 1, b = 2 }`), strings, comments
//! and heredocs are copied unchanged. The caller uses it only after the text failed to parse as
//! is, so a file that is valid HCL2 is never rewritten.

/// The rewritten text and, for each of its lines, the line of the original it came from.
pub(crate) struct Normalized {
    pub text: String,
    /// `original_lines[i]` is the 1-based original line of output line `i + 1`.
    pub original_lines: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Block,
    Object,
    Bracket,
}

struct Writer {
    text: String,
    original_lines: Vec<usize>,
    line: usize,
    changed: bool,
}

impl Writer {
    fn copy(&mut self, c: char) {
        self.text.push(c);
        if c == '\n' {
            self.line += 1;
            self.original_lines.push(self.line);
        }
    }

    fn copy_str(&mut self, s: &str) {
        for c in s.chars() {
            self.copy(c);
        }
    }

    /// A line break that is not in the original: its line maps to the current original line.
    fn insert_break(&mut self) {
        self.text.push('\n');
        self.original_lines.push(self.line);
        self.changed = true;
    }
}

/// Rewrites `src`, or returns `None` when there is nothing to rewrite.
pub(crate) fn normalize(src: &str) -> Option<Normalized> {
    let mut out = Writer {
        text: String::with_capacity(src.len() + 64),
        original_lines: vec![1],
        line: 1,
        changed: false,
    };
    let mut scopes: Vec<Scope> = Vec::new();
    // The last significant character written, to tell a block's `{` from an object's.
    let mut prev = '\n';
    let mut rest = src;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        if c == '#' || rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            out.copy_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        if rest.starts_with("/*") {
            let end = rest[2..].find("*/").map_or(rest.len(), |i| i + 4);
            out.copy_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        if c == '"' {
            let end = string_end(rest);
            out.copy_str(&rest[..end]);
            rest = &rest[end..];
            prev = '"';
            continue;
        }
        if let Some(end) = heredoc_end(rest) {
            out.copy_str(&rest[..end]);
            rest = &rest[end..];
            prev = '"';
            continue;
        }
        rest = after;
        match c {
            '{' => {
                let in_expression = matches!(scopes.last(), Some(Scope::Object | Scope::Bracket));
                let scope = if in_expression || matches!(prev, '=' | ':') {
                    Scope::Object
                } else {
                    Scope::Block
                };
                out.copy('{');
                if scope == Scope::Block {
                    out.insert_break();
                }
                scopes.push(scope);
            }
            '}' => {
                if scopes.pop() == Some(Scope::Block) {
                    out.insert_break();
                }
                out.copy('}');
            }
            '[' | '(' => {
                scopes.push(Scope::Bracket);
                out.copy(c);
            }
            ']' | ')' => {
                scopes.pop();
                out.copy(c);
            }
            ',' if scopes.last() == Some(&Scope::Block) => out.insert_break(),
            _ => out.copy(c),
        }
        if !c.is_whitespace() {
            prev = c;
        }
    }
    out.changed.then_some(Normalized {
        text: out.text,
        original_lines: out.original_lines,
    })
}

/// Length of the quoted string at the start of `s` (through the closing quote, or to the end
/// of the line if it is unterminated; the parser will report that).
fn string_end(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '\n' => return i,
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return i + 1,
            _ => escaped = false,
        }
    }
    s.len()
}

/// If `s` starts a heredoc (`<<EOT` or `<<-EOT` then a line break), its length through the
/// closing delimiter line.
fn heredoc_end(s: &str) -> Option<usize> {
    let head = s.strip_prefix("<<")?;
    let head = head.strip_prefix('-').unwrap_or(head);
    let name_len = head
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(head.len());
    let name = &head[..name_len];
    if name.is_empty() {
        return None;
    }
    let first_break = s.find('\n')?;
    let mut pos = first_break + 1;
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
    fn one_line_blocks_are_split() {
        let n =
            normalize("a = 1\naudit \"file\" \"f\" { options { file_path = \"/x\" } }\nb = 2\n")
                .unwrap();
        assert_eq!(
            n.text,
            "a = 1\naudit \"file\" \"f\" {\n options {\n file_path = \"/x\" \n} \n}\nb = 2\n"
        );
        // Every output line maps back to where it came from.
        assert_eq!(n.original_lines, vec![1, 2, 2, 2, 2, 2, 3, 4]);
    }

    #[test]
    fn commas_between_block_attributes_become_breaks() {
        let n = normalize("listener \"tcp\" { a = \"x,y\", b = { c = 1, d = [1, 2] }, e = true }")
            .unwrap();
        assert_eq!(
            n.text,
            "listener \"tcp\" {\n a = \"x,y\"\n b = { c = 1, d = [1, 2] }\n e = true \n}"
        );
    }

    proptest::proptest! {
        #[test]
        fn line_map_covers_every_output_line(src in "[a-z =\"{}\\[\\](),#/*<\n\\\\-]{0,80}") {
            if let Some(n) = normalize(&src) {
                proptest::prop_assert_eq!(n.original_lines.len(), n.text.split('\n').count());
                let last = src.split('\n').count();
                proptest::prop_assert!(n.original_lines.iter().all(|&l| l >= 1 && l <= last));
            }
            let _ = crate::tree::parse_hcl(&src);
        }
    }

    #[test]
    fn strings_comments_and_heredocs_are_untouched() {
        let src =
            "# a { b, c }\n// { x }\n/* { , } */\nx = \"{ \\\" , }\"\ny = <<EOT\n{ , }\nEOT\n";
        assert!(normalize(src).is_none());
    }
}
