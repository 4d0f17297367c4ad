//! Output primitives that reproduce the Vault/OpenBao CLI byte for byte: Go's `%v` and
//! `%q` of decoded JSON values, `json.MarshalIndent`, the YAML of `sigs.k8s.io/yaml`
//! (go-yaml v2's emitter rules), `columnize` tables, `kr/text` paragraph wrapping and the
//! CLI's human durations.

use serde::Serialize;
use serde_json::{Map, Value};

/// Width the CLI wraps long messages at.
pub const MAX_LINE_LENGTH: usize = 78;

/// The delimiter the CLI uses between table columns ("hope it is never in a secret").
pub const HOPE_DELIM: &str = "♨";

// ---------------------------------------------------------------------------------------
// Go fmt verbs

/// Go's `%v` of a value decoded by `encoding/json` with `UseNumber`.
pub fn go_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(go_v).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", go_v(v))).collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// Go's `%q` of a string (`strconv.Quote`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                if (c as u32) <= 0xFFFF {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string` (`nil` prints `[]`).
pub fn go_quote_list(list: Option<&[String]>) -> String {
    let items: Vec<String> = list
        .unwrap_or_default()
        .iter()
        .map(|s| go_quote(s))
        .collect();
    format!("[{}]", items.join(" "))
}

// ---------------------------------------------------------------------------------------
// Durations

/// Go's `time.Duration.String()` for a whole number of seconds.
pub fn go_duration_secs(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let neg = secs < 0;
    let u = secs.unsigned_abs();
    let (h, m, s) = (u / 3600, (u / 60) % 60, u % 60);
    let body = if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    };
    if neg { format!("-{body}") } else { body }
}

/// The CLI's `humanDuration`: Go's duration string without the `0m`/`0s` noise.
pub fn human_duration(secs: i64) -> String {
    let mut s = go_duration_secs(secs);
    if secs == 0 {
        return s;
    }
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(i) = s.find("h0m")
        && i > 0
    {
        s.replace_range(i + 1..i + 3, "");
    }
    s
}

/// The CLI's `humanDurationInt`: an integer becomes a human duration, anything else is left
/// as it is.
pub fn human_duration_value(v: &Value) -> Value {
    match v.as_i64() {
        Some(i) if v.is_i64() || v.is_u64() => Value::String(human_duration(i)),
        _ => v.clone(),
    }
}

/// Whether a key names a duration, which tables print as a human duration.
pub fn looks_like_duration(k: &str) -> bool {
    k == "period"
        || k.ends_with("_period")
        || k == "ttl"
        || k.ends_with("_ttl")
        || k == "duration"
        || k.ends_with("_duration")
        || k == "lease_max"
        || k == "ttl_max"
}

// ---------------------------------------------------------------------------------------
// JSON

/// `json.MarshalIndent(v, "", "  ")`: pretty JSON with Go's HTML-safe escaping.
pub fn json_indent<T: Serialize + ?Sized>(v: &T) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".to_owned());
    go_html_escape(&text)
}

/// Go escapes `<`, `>`, `&`, U+2028 and U+2029 in strings; those characters can only
/// occur inside strings in JSON text, so a textual replacement is exact.
fn go_html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Tables

/// `columnize.Format` with the CLI's settings: cells split on `delim` and trimmed, empty
/// cells shown as `n/a`, columns padded (by characters) and joined with four spaces, the
/// last column unpadded.
pub fn columnize(lines: &[String], delim: &str) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            l.split(delim)
                .map(|c| {
                    let t = c.trim();
                    if t.is_empty() {
                        "n/a".to_owned()
                    } else {
                        t.to_owned()
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            let n = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(n),
                None => widths.push(n),
            }
        }
    }
    let mut out = String::new();
    for row in &rows {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                let pad = widths.get(i).copied().unwrap_or(0) - cell.chars().count();
                out.push_str(&" ".repeat(pad));
                out.push_str("    ");
            }
        }
        out.push('\n');
    }
    out.pop();
    out
}

/// The CLI's `tableOutput`: a header row, an underline of dashes, then the rows.
pub fn table_output(lines: &[String], delim: &str) -> String {
    let Some(header) = lines.first() else {
        return String::new();
    };
    let underline: Vec<String> = header
        .split(delim)
        .map(|h| "-".repeat(h.trim().len()))
        .collect();
    let mut all = Vec::with_capacity(lines.len() + 1);
    all.push(header.clone());
    all.push(underline.join(delim));
    all.extend(lines.iter().skip(1).cloned());
    columnize(&all, delim)
}

// ---------------------------------------------------------------------------------------
// Wrapping

/// `kr/text.Wrap`: splits on single spaces (newlines become spaces) and breaks into lines
/// of at most `lim` bytes with minimal raggedness (sum of squared slack, the last line
/// free), too-long words costing a fixed penalty.
pub fn wrap(s: &str, lim: usize) -> String {
    let flat = s.trim().replace('\n', " ");
    let words: Vec<&str> = flat.split(' ').collect();
    let n = words.len();
    let lim = i64::try_from(lim).unwrap_or(i64::MAX);
    let len = |i: usize, j: usize| -> i64 {
        // Length of words[i..=j] joined with single spaces.
        let letters: usize = words[i..=j].iter().map(|w| w.len()).sum();
        i64::try_from(letters + (j - i)).unwrap_or(i64::MAX)
    };
    const PENALTY: i64 = 100_000;
    let mut cost = vec![i64::from(i32::MAX); n];
    let mut next = vec![n; n];
    for i in (0..n).rev() {
        if len(i, n - 1) <= lim || i == n - 1 {
            cost[i] = 0;
            next[i] = n;
        } else {
            for j in i + 1..n {
                let l = len(i, j - 1);
                let d = lim - l;
                let mut c = d * d + cost[j];
                if l > lim {
                    c += PENALTY;
                }
                if c < cost[i] {
                    cost[i] = c;
                    next[i] = j;
                }
            }
        }
    }
    let mut lines = Vec::new();
    let mut i = 0;
    while i < n {
        lines.push(words[i..next[i]].join(" "));
        i = next[i];
    }
    lines.join("\n")
}

/// The CLI's `wrapAtLengthWithPadding`.
pub fn wrap_at_length_with_padding(s: &str, pad: usize) -> String {
    let wrapped = wrap(s, MAX_LINE_LENGTH - pad);
    let prefix = " ".repeat(pad);
    wrapped
        .split('\n')
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The CLI's `wrapAtLength`.
pub fn wrap_at_length(s: &str) -> String {
    wrap_at_length_with_padding(s, 0)
}

// ---------------------------------------------------------------------------------------
// YAML (sigs.k8s.io/yaml: JSON -> go-yaml v2 -> text)

/// The YAML the CLI prints for `v`: keys in go-yaml's order, go-yaml's quoting and
/// folding at 80 columns. Ends with a newline.
pub fn yaml<T: Serialize + ?Sized>(v: &T) -> String {
    let value = serde_json::to_value(v).unwrap_or(Value::Null);
    let mut e = YamlEmitter::default();
    e.top(&value);
    e.out
}

const BEST_WIDTH: usize = 80;

#[derive(Default)]
struct YamlEmitter {
    out: String,
    column: usize,
    /// Whether the last character written was whitespace (or nothing was written yet on
    /// this line's indentation).
    whitespace: bool,
    /// Whether only indentation has been written on the current line.
    indention: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

impl YamlEmitter {
    fn put(&mut self, s: &str) {
        for c in s.chars() {
            self.out.push(c);
            self.column += 1;
        }
        self.whitespace = s.ends_with(' ');
        self.indention = false;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.out.push(' ');
            self.column += 1;
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn top(&mut self, v: &Value) {
        self.indention = true;
        self.whitespace = true;
        match v {
            Value::Object(m) if !m.is_empty() => self.mapping(m, 0, false),
            Value::Array(a) if !a.is_empty() => self.sequence(a, 0, false),
            other => self.inline_value(other, 0, false),
        }
        if !(self.column == 0 && self.out.ends_with('\n')) {
            self.out.push('\n');
        }
    }

    /// A block mapping whose keys sit at column `indent`; `inline_first` when the first key
    /// follows a `- ` on the current line.
    fn mapping(&mut self, m: &Map<String, Value>, indent: usize, inline_first: bool) {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by(|a, b| yaml_key_cmp(a, b));
        for (i, k) in keys.into_iter().enumerate() {
            if !(i == 0 && inline_first) {
                self.write_indent(indent);
            }
            self.scalar(k, indent, true);
            self.put(":");
            let v = &m[k.as_str()];
            match v {
                Value::Object(inner) if !inner.is_empty() => self.mapping(inner, indent + 2, false),
                // go-yaml writes sequences in a mapping without extra indentation.
                Value::Array(inner) if !inner.is_empty() => self.sequence(inner, indent, false),
                other => {
                    self.put(" ");
                    self.inline_value(other, indent, false);
                }
            }
        }
    }

    /// A block sequence whose dashes sit at column `indent`.
    fn sequence(&mut self, a: &[Value], indent: usize, inline_first: bool) {
        for (i, item) in a.iter().enumerate() {
            if !(i == 0 && inline_first) {
                self.write_indent(indent);
            }
            self.put("- ");
            match item {
                Value::Object(m) if !m.is_empty() => self.mapping(m, indent + 2, true),
                Value::Array(inner) if !inner.is_empty() => {
                    self.sequence(inner, indent + 2, true);
                }
                other => self.inline_value(other, indent, false),
            }
        }
    }

    /// A scalar or an empty collection after `key: ` or `- `; `indent` is the container's.
    fn inline_value(&mut self, v: &Value, indent: usize, key: bool) {
        match v {
            Value::Null => self.put("null"),
            Value::Bool(b) => self.put(if *b { "true" } else { "false" }),
            Value::Number(n) => self.put(&yaml_number(n)),
            Value::String(s) => self.scalar(s, indent, key),
            Value::Object(_) => self.put("{}"),
            Value::Array(_) => self.put("[]"),
        }
    }

    /// A string scalar; continuation lines are indented two columns deeper than the
    /// container (`indent`). Keys are simple keys: no line breaks, no block styles.
    fn scalar(&mut self, s: &str, indent: usize, key: bool) {
        let style = select_style(s, key);
        let sub = indent + 2;
        let allow_breaks = !key;
        match style {
            Style::Plain => self.write_plain(s, sub, allow_breaks),
            Style::Single => self.write_single(s, sub, allow_breaks),
            Style::Double => self.write_double(s, sub, allow_breaks),
            Style::Literal => self.write_literal(s, sub),
        }
    }

    fn write_plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.write_indent(indent);
                } else {
                    self.put(" ");
                }
                spaces = true;
            } else {
                self.put(&c.to_string());
                spaces = false;
            }
        }
    }

    fn write_single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put("'");
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != chars.len() - 1
                    && !next_space
                {
                    self.write_indent(indent);
                } else {
                    self.put(" ");
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put("'");
                }
                self.put(&c.to_string());
                spaces = false;
            }
        }
        self.put("'");
    }

    fn write_double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put("\"");
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                let esc = match c {
                    '\0' => "\\0".to_owned(),
                    '\u{7}' => "\\a".to_owned(),
                    '\u{8}' => "\\b".to_owned(),
                    '\t' => "\\t".to_owned(),
                    '\n' => "\\n".to_owned(),
                    '\u{b}' => "\\v".to_owned(),
                    '\u{c}' => "\\f".to_owned(),
                    '\r' => "\\r".to_owned(),
                    '\u{1b}' => "\\e".to_owned(),
                    '"' => "\\\"".to_owned(),
                    '\\' => "\\\\".to_owned(),
                    '\u{85}' => "\\N".to_owned(),
                    '\u{a0}' => "\\_".to_owned(),
                    '\u{2028}' => "\\L".to_owned(),
                    '\u{2029}' => "\\P".to_owned(),
                    c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                    c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                    c => format!("\\U{:08X}", c as u32),
                };
                self.put(&esc);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != chars.len() - 1
                {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put("\\");
                    }
                } else {
                    self.put(" ");
                }
                spaces = true;
            } else {
                self.put(&c.to_string());
                spaces = false;
            }
        }
        self.put("\"");
    }

    fn write_literal(&mut self, s: &str, indent: usize) {
        let chars: Vec<char> = s.chars().collect();
        let mut hints = String::from("|");
        if chars.first().is_some_and(|c| *c == ' ' || is_break(*c)) {
            hints.push('2');
        }
        match chars.last() {
            Some(c) if !is_break(*c) => hints.push('-'),
            Some(_) if chars.len() == 1 => hints.push('+'),
            Some(_) if chars.get(chars.len() - 2).is_some_and(|c| is_break(*c)) => {
                hints.push('+');
            }
            _ => {}
        }
        self.put(&hints);
        self.put_break();
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.put_break();
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                    breaks = false;
                }
                self.put(&c.to_string());
            }
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blankz(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

/// go-yaml's `is_printable` (note: characters beyond the BMP are not printable).
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, for the block context.
fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    if s.starts_with("---") || s.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_ws = true;
    let last = chars.len() - 1;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = is_blankz(chars.get(i + 1).copied());
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_ws {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_ws => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_ws {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_ws => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) && !is_break(c) {
            special = true;
        }
        if c == '\u{feff}' {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i == last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_break = true;
            previous_space = false;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blankz(Some(c));
    }
    let _ = flow_indicators;
    let mut a = Analysis {
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.block_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// go-yaml v2's `stringv` choice, then libyaml's `select_scalar_style`.
fn select_style(s: &str, key: bool) -> Style {
    let can_plain = !resolves_to_non_string(s) && !is_base60_float(s);
    let mut style = if s.contains('\n') {
        Style::Literal
    } else if can_plain {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    if style == Style::Plain && (!a.block_plain_allowed || (s.is_empty() && key)) {
        style = Style::Single;
    }
    if style == Style::Literal && (!a.block_allowed || key) {
        style = Style::Double;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    style
}

/// Whether go-yaml v2 would read `s` as a plain scalar of another type (null, bool, int,
/// float, timestamp), in which case the encoder quotes it.
fn resolves_to_non_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    let Some(first) = s.chars().next() else {
        return true;
    };
    let hint = match first {
        '+' | '-' | '0'..='9' => 'D',
        'y' | 'Y' | 'n' | 'N' | 't' | 'T' | 'f' | 'F' | 'o' | 'O' | '~' => 'M',
        '.' => '.',
        _ => return false,
    };
    if SPECIAL.contains(&s) {
        return true;
    }
    match hint {
        '.' => go_parse_float(s),
        'D' => {
            if is_yaml_timestamp(s) {
                return true;
            }
            let plain = s.replace('_', "");
            go_parse_int_base0(&plain)
                || (is_yaml_style_float(&plain) && go_parse_float(&plain))
                || plain
                    .strip_prefix("0b")
                    .or_else(|| plain.strip_prefix("-0b"))
                    .is_some_and(|b| !b.is_empty() && b.chars().all(|c| c == '0' || c == '1'))
        }
        _ => false,
    }
}

/// `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` succeeds.
fn go_parse_int_base0(s: &str) -> bool {
    let unsigned = s
        .strip_prefix('-')
        .or_else(|| s.strip_prefix('+'))
        .unwrap_or(s);
    let (digits, radix) = if let Some(r) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        (r, 16)
    } else if let Some(r) = unsigned
        .strip_prefix("0b")
        .or_else(|| unsigned.strip_prefix("0B"))
    {
        (r, 2)
    } else if let Some(r) = unsigned
        .strip_prefix("0o")
        .or_else(|| unsigned.strip_prefix("0O"))
    {
        (r, 8)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (&unsigned[1..], 8)
    } else {
        (unsigned, 10)
    };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `strconv.ParseFloat(s, 64)` succeeds (decimal forms, `inf`, `infinity`, `nan`).
fn go_parse_float(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let unsigned = lower
        .strip_prefix('-')
        .or_else(|| lower.strip_prefix('+'))
        .unwrap_or(&lower);
    if matches!(unsigned, "inf" | "infinity") || lower == "nan" {
        return true;
    }
    if unsigned.starts_with("0x") {
        return false;
    }
    let clean = s.replace('_', "");
    is_yaml_style_float(&clean) && clean.parse::<f64>().is_ok()
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let n = i - start;
        if n == 0 || (n == 2 && b[start] > b'5') {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml v2's timestamp resolution: `YYYY-M-D`, optionally followed by `T`, `t` or a
/// space and `h:m:s[.frac]`, with a zone (`Z` or `±hh:mm`) after `T`/`t`.
fn is_yaml_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max_digits: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max_digits {
            *i += 1;
        }
        if *i == start {
            None
        } else {
            std::str::from_utf8(&b[start..*i]).ok()?.parse().ok()
        }
    };
    let Some(month) = num(&mut i, 2) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if !matches!(sep, b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    let (Some(h), true) = (num(&mut i, 2), b.get(i) == Some(&b':')) else {
        return false;
    };
    i += 1;
    let (Some(m), true) = (num(&mut i, 2), b.get(i) == Some(&b':')) else {
        return false;
    };
    i += 1;
    let Some(sec) = num(&mut i, 2) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if sep == b' ' {
        return i == b.len();
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let rest = &b[i + 1..];
            rest.len() == 5
                && rest[..2].iter().all(u8::is_ascii_digit)
                && rest[2] == b':'
                && rest[3..].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// A JSON number as go-yaml prints it after reading it back: integers as they are, floats
/// with Go's shortest `%g`.
fn yaml_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    // go-yaml reads "3.0" back as a float and prints it with %g.
    n.as_f64().map_or_else(|| n.to_string(), go_format_g)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    // Shortest round-trip digits and exponent, from Rust's `{:e}`.
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if neg { "-" } else { "" };
    // Go uses %e when the exponent is < -4 or >= 6 for the shortest representation.
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_owned();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{esign}{:02}", exp.abs());
    }
    let dp = exp + 1;
    if dp <= 0 {
        let zeros = "0".repeat(usize::try_from(-dp).unwrap_or(0));
        format!("{sign}0.{zeros}{digits}")
    } else {
        let dp = usize::try_from(dp).unwrap_or(0);
        if digits.len() <= dp {
            format!("{sign}{digits}{}", "0".repeat(dp - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..dp], &digits[dp..])
        }
    }
}

/// go-yaml v2's map key order: letters compare as characters, runs of digits compare as
/// numbers, and non-letters sort before letters.
pub fn yaml_key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn): (i128, i128) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an * 10 + i128::from(ar[ai] as u8 - b'0');
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn * 10 + i128::from(br[bi] as u8 - b'0');
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn go_v_formats() {
        assert_eq!(go_v(&json!(null)), "<nil>");
        assert_eq!(go_v(&json!(["a", 1, true])), "[a 1 true]");
        assert_eq!(
            go_v(&json!({"b": {"c": null}, "a": [1]})),
            "map[a:[1] b:map[c:<nil>]]"
        );
        assert_eq!(
            go_quote_list(Some(&["root".into(), "a\"b".into()])),
            r#"["root" "a\"b"]"#
        );
        assert_eq!(go_quote_list(None), "[]");
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(2_764_800), "768h");
        assert_eq!(human_duration(3600), "1h");
        assert_eq!(human_duration(3601), "1h1s");
        assert_eq!(human_duration(90), "1m30s");
        assert_eq!(human_duration(120), "2m");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(-1), "-1s");
        assert_eq!(human_duration_value(&json!(60)), json!("1m"));
        assert_eq!(human_duration_value(&json!("60")), json!("60"));
    }

    #[test]
    fn json_is_html_escaped() {
        assert_eq!(
            json_indent(&json!({"n": "<&>", "e": {}, "l": []})),
            "{\n  \"e\": {},\n  \"l\": [],\n  \"n\": \"\\u003c\\u0026\\u003e\"\n}"
        );
    }

    #[test]
    fn tables() {
        let rows = vec![
            "Key♨Value".to_owned(),
            "encryptions ♨ 30".to_owned(),
            "deletion_time ♨ ".to_owned(),
        ];
        assert_eq!(
            table_output(&rows, HOPE_DELIM),
            "Key              Value\n---              -----\nencryptions      30\ndeletion_time    n/a"
        );
    }

    #[test]
    fn wrapping_matches_kr_text() {
        let w = "* Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv get' for this operation.";
        assert_eq!(
            wrap_at_length_with_padding(w, 2),
            "  * Invalid path for a versioned K/V secrets engine. See the API docs for the\n  appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv get'\n  for this operation."
        );
    }

    #[test]
    fn yaml_matches_go_yaml() {
        let v = json!({
            "data": {"data": {
                "a": "<&>", "b": "x y", "c": "", "d": "line1\nline2", "e": "tab\tx",
                "f": "true", "g": "123", "h": "-x", "i": ": y", "j": "a: b", "k": "#x",
                "l": "a #b", "m": "ü"
            }, "metadata": {"created_time": "2026-11-28T02:27:00.803815938Z",
                "custom_metadata": null, "version": 1}},
            "lease_id": "",
            "renewable": false,
            "warnings": ["Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv get' for this operation."],
        });
        let expected = "data:\n  data:\n    a: <&>\n    b: x y\n    c: \"\"\n    d: |-\n      line1\n      line2\n    e: \"tab\\tx\"\n    f: \"true\"\n    g: \"123\"\n    h: -x\n    i: ': y'\n    j: 'a: b'\n    k: '#x'\n    l: 'a #b'\n    m: ü\n  metadata:\n    created_time: \"2026-11-28T02:27:00.803815938Z\"\n    custom_metadata: null\n    version: 1\nlease_id: \"\"\nrenewable: false\nwarnings:\n- Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate\n  API endpoints to use. If using the OpenBao CLI, use 'bao kv get' for this operation.\n";
        assert_eq!(yaml(&v), expected);
    }

    #[test]
    fn yaml_collections() {
        let v =
            json!({"e": {}, "l": [], "m": [{"a": 1, "b": [2, 3]}, [4, 5]], "v": {"10": 1, "9": 2}});
        assert_eq!(
            yaml(&v),
            "e: {}\nl: []\nm:\n- a: 1\n  b:\n  - 2\n  - 3\n- - 4\n  - 5\nv:\n  \"9\": 2\n  \"10\": 1\n"
        );
        assert_eq!(yaml(&json!("x")), "x\n");
        assert_eq!(yaml(&json!(["a", "y"])), "- a\n- \"y\"\n");
    }

    #[test]
    fn yaml_scalar_resolution() {
        for s in [
            "1",
            "-2",
            "0x1F",
            "08",
            "1.5",
            "1e3",
            ".5",
            "2026-01-02",
            "y",
            "Off",
            "~",
            "1:30",
        ] {
            assert!(select_style(s, false) == Style::Double, "{s}");
        }
        for s in ["abc", "1.2.3", "v1", "-x", "0b2", "2026-13-01", "<<"] {
            assert!(select_style(s, false) == Style::Plain, "{s}");
        }
        assert!(select_style(" lead", false) == Style::Single);
        assert!(select_style("-", false) == Style::Single);
        assert!(select_style("it's: x", false) == Style::Single);
        assert!(select_style("a\u{1F600}", false) == Style::Double);
    }

    #[test]
    fn yaml_key_order() {
        let mut keys = vec!["token_type", "tokens", "a10", "a9", "A", "_x", "b"];
        keys.sort_by(|a, b| yaml_key_cmp(a, b));
        assert_eq!(keys, ["_x", "A", "a9", "a10", "b", "token_type", "tokens"]);
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(go_format_g(1.5), "1.5");
        assert_eq!(go_format_g(1000.0), "1000");
        assert_eq!(go_format_g(1e21), "1e+21");
        assert_eq!(go_format_g(1e6), "1e+06");
        assert_eq!(go_format_g(123456.0), "123456");
        assert_eq!(go_format_g(-2.5e-7), "-2.5e-07");
        assert_eq!(go_format_g(0.0001), "0.0001");
        assert_eq!(go_format_g(0.00001), "1e-05");
    }
}
