//! Vault's username templates (`username_template` of the database and RabbitMQ engines):
//! the subset of Go's text/template they use: literal text with `{{ pipeline }}` actions,
//! pipelines of commands joined by `|` (the value flows in as the last argument), string and
//! integer literals, parenthesised pipelines, the fields `.DisplayName` and `.RoleName`, and
//! the functions `printf`, `truncate`, `truncate_sha256`, `uppercase`, `lowercase`, `replace`,
//! `random`, `unix_time`, `unix_time_millis`, `uuid`, `sha256`, `base64`.

use base64::Engine as _;

/// Why a username template is invalid or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A syntax error.
    #[error("invalid username template: {0}")]
    Syntax(&'static str),
    /// A function that is not supported.
    #[error("invalid username template: unknown function")]
    UnknownFunction,
    /// A field other than `.DisplayName` / `.RoleName`.
    #[error("invalid username template: unknown field")]
    UnknownField,
    /// A function got the wrong number or kinds of arguments.
    #[error("invalid username template: bad arguments to {0}")]
    BadArgs(&'static str),
    /// The random generator failed.
    #[error("random generator failure")]
    Random,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Int(i64),
    Field(String),
    Ident(String),
    Pipe,
    Open,
    Close,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Str(String),
    Int(i64),
    Field(String),
    Call(String),
    Sub(Pipeline),
}

#[derive(Debug, Clone, PartialEq)]
struct Command {
    head: Arg,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
struct Pipeline(Vec<Command>);

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Action(Pipeline),
}

/// A parsed username template.
#[derive(Debug, Clone, PartialEq)]
pub struct UsernameTemplate {
    parts: Vec<Part>,
}

/// The values a username template can refer to.
#[derive(Debug, Clone, Default)]
pub struct UsernameMetadata {
    /// `.DisplayName`: the requesting token's display name.
    pub display_name: String,
    /// `.RoleName`: the role.
    pub role_name: String,
    /// The current time, in seconds and milliseconds since the epoch.
    pub unix_millis: i128,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
        }
    }
}

fn lex(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut out = Vec::new();
    let cs: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                out.push(Token::Pipe);
                i += 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&ch) = cs.get(i) else {
                        return Err(TemplateError::Syntax("unterminated string"));
                    };
                    i += 1;
                    match ch {
                        '"' => break,
                        '\\' => {
                            let Some(&e) = cs.get(i) else {
                                return Err(TemplateError::Syntax("unterminated string"));
                            };
                            i += 1;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                        other => s.push(other),
                    }
                }
                out.push(Token::Str(s));
            }
            '`' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&ch) = cs.get(i) else {
                        return Err(TemplateError::Syntax("unterminated string"));
                    };
                    i += 1;
                    if ch == '`' {
                        break;
                    }
                    s.push(ch);
                }
                out.push(Token::Str(s));
            }
            '.' => {
                let start = i + 1;
                i += 1;
                while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                    i += 1;
                }
                out.push(Token::Field(cs[start..i].iter().collect()));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < cs.len() && cs[i].is_ascii_digit() {
                    i += 1;
                }
                let text: String = cs[start..i].iter().collect();
                out.push(Token::Int(
                    text.parse()
                        .map_err(|_| TemplateError::Syntax("bad number"))?,
                ));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                    i += 1;
                }
                out.push(Token::Ident(cs[start..i].iter().collect()));
            }
            _ => return Err(TemplateError::Syntax("unexpected character")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn pipeline(&mut self) -> Result<Pipeline, TemplateError> {
        let mut cmds = vec![self.command()?];
        while self.peek() == Some(&Token::Pipe) {
            self.pos += 1;
            cmds.push(self.command()?);
        }
        Ok(Pipeline(cmds))
    }

    fn operand(&mut self) -> Result<Option<Arg>, TemplateError> {
        let Some(t) = self.peek().cloned() else {
            return Ok(None);
        };
        let arg = match t {
            Token::Str(s) => Arg::Str(s),
            Token::Int(i) => Arg::Int(i),
            Token::Field(f) => Arg::Field(f),
            Token::Ident(n) => Arg::Call(n),
            Token::Open => {
                self.pos += 1;
                let p = self.pipeline()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(TemplateError::Syntax("missing )"));
                }
                self.pos += 1;
                return Ok(Some(Arg::Sub(p)));
            }
            Token::Pipe | Token::Close => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(arg))
    }

    fn command(&mut self) -> Result<Command, TemplateError> {
        let head = self
            .operand()?
            .ok_or(TemplateError::Syntax("empty command"))?;
        let mut args = Vec::new();
        while let Some(a) = self.operand()? {
            args.push(a);
        }
        if !matches!(head, Arg::Call(_)) && !args.is_empty() {
            return Err(TemplateError::Syntax("arguments to a non-function"));
        }
        Ok(Command { head, args })
    }
}

impl UsernameTemplate {
    /// Parses a template.
    pub fn parse(src: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = src;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or(TemplateError::Syntax("unclosed action"))?;
            let mut inner = &after[..end];
            // Go's trim markers `{{-` and `-}}`.
            if let Some(s) = inner.strip_prefix("- ") {
                inner = s;
            }
            if let Some(s) = inner.strip_suffix(" -") {
                inner = s;
            }
            let mut p = Parser {
                toks: lex(inner)?,
                pos: 0,
            };
            let pipe = p.pipeline()?;
            if p.pos != p.toks.len() {
                return Err(TemplateError::Syntax("unexpected token"));
            }
            parts.push(Part::Action(pipe));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        let t = UsernameTemplate { parts };
        // Validate functions and fields once, with empty metadata.
        t.render(&UsernameMetadata::default())?;
        Ok(t)
    }

    /// Renders the template.
    pub fn render(&self, meta: &UsernameMetadata) -> Result<String, TemplateError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Action(pipe) => out.push_str(&eval_pipeline(pipe, meta)?.text()),
            }
        }
        Ok(out)
    }
}

fn eval_pipeline(p: &Pipeline, meta: &UsernameMetadata) -> Result<Value, TemplateError> {
    let mut prev: Option<Value> = None;
    for cmd in &p.0 {
        let mut args = Vec::with_capacity(cmd.args.len() + 1);
        for a in &cmd.args {
            args.push(eval_arg(a, meta)?);
        }
        if let Some(v) = prev.take() {
            args.push(v);
        }
        prev = Some(match &cmd.head {
            Arg::Call(name) => call(name, args, meta)?,
            other => {
                if !args.is_empty() {
                    return Err(TemplateError::Syntax("arguments to a non-function"));
                }
                eval_arg(other, meta)?
            }
        });
    }
    prev.ok_or(TemplateError::Syntax("empty pipeline"))
}

fn eval_arg(a: &Arg, meta: &UsernameMetadata) -> Result<Value, TemplateError> {
    Ok(match a {
        Arg::Str(s) => Value::Str(s.clone()),
        Arg::Int(i) => Value::Int(*i),
        Arg::Field(f) => match f.as_str() {
            "DisplayName" => Value::Str(meta.display_name.clone()),
            "RoleName" => Value::Str(meta.role_name.clone()),
            _ => return Err(TemplateError::UnknownField),
        },
        Arg::Call(name) => call(name, Vec::new(), meta)?,
        Arg::Sub(p) => eval_pipeline(p, meta)?,
    })
}

fn int_arg(v: &Value, f: &'static str) -> Result<usize, TemplateError> {
    match v {
        Value::Int(i) if *i >= 0 => usize::try_from(*i).map_err(|_| TemplateError::BadArgs(f)),
        _ => Err(TemplateError::BadArgs(f)),
    }
}

fn str_arg(v: &Value, f: &'static str) -> Result<String, TemplateError> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(_) => Err(TemplateError::BadArgs(f)),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn call(name: &str, args: Vec<Value>, meta: &UsernameMetadata) -> Result<Value, TemplateError> {
    let n = args.len();
    Ok(match (name, n) {
        ("printf", n) if n >= 1 => {
            let f = str_arg(&args[0], "printf")?;
            Value::Str(printf(&f, &args[1..]))
        }
        ("truncate", 2) => Value::Str(truncate(
            &str_arg(&args[1], "truncate")?,
            int_arg(&args[0], "truncate")?,
        )),
        ("truncate_sha256", 2) => {
            let max = int_arg(&args[0], "truncate_sha256")?;
            let s = str_arg(&args[1], "truncate_sha256")?;
            if s.chars().count() <= max {
                Value::Str(s)
            } else {
                // Keep the head and replace the tail with its SHA-256 (Vault's rule).
                if max < 64 {
                    return Err(TemplateError::BadArgs("truncate_sha256"));
                }
                let head: String = s.chars().take(max - 64).collect();
                let tail: String = s.chars().skip(max - 64).collect();
                Value::Str(format!(
                    "{head}{}",
                    hex::encode(arca_crypto::sha256(tail.as_bytes()))
                ))
            }
        }
        ("uppercase", 1) => Value::Str(str_arg(&args[0], "uppercase")?.to_uppercase()),
        ("lowercase", 1) => Value::Str(str_arg(&args[0], "lowercase")?.to_lowercase()),
        ("replace", 3) => {
            let from = str_arg(&args[0], "replace")?;
            let to = str_arg(&args[1], "replace")?;
            Value::Str(str_arg(&args[2], "replace")?.replace(&from, &to))
        }
        ("random", 1) => {
            let len = int_arg(&args[0], "random")?;
            Value::Str(arca_crypto::random_base62(len).map_err(|_| TemplateError::Random)?)
        }
        ("unix_time", 0) => Value::Int(i64::try_from(meta.unix_millis / 1000).unwrap_or(0)),
        ("unix_time_millis", 0) => Value::Int(i64::try_from(meta.unix_millis).unwrap_or(0)),
        ("uuid", 0) => Value::Str(arca_crypto::random_uuid().map_err(|_| TemplateError::Random)?),
        ("sha256", 1) => Value::Str(hex::encode(arca_crypto::sha256(
            str_arg(&args[0], "sha256")?.as_bytes(),
        ))),
        ("base64", 1) => Value::Str(
            base64::engine::general_purpose::STANDARD.encode(str_arg(&args[0], "base64")?),
        ),
        (
            "printf" | "truncate" | "truncate_sha256" | "uppercase" | "lowercase" | "replace"
            | "random" | "unix_time" | "unix_time_millis" | "uuid" | "sha256" | "base64",
            _,
        ) => return Err(TemplateError::BadArgs("function")),
        _ => return Err(TemplateError::UnknownFunction),
    })
}

/// Go's `printf` for the verbs templates use: `%s`, `%d`, `%v`, `%%`.
fn printf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut next = args.iter();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('%') => out.push('%'),
            Some('s' | 'd' | 'v') => match next.next() {
                Some(v) => out.push_str(&v.text()),
                None => out.push_str("%!s(MISSING)"),
            },
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn meta() -> UsernameMetadata {
        UsernameMetadata {
            display_name: "token-longdisplay".into(),
            role_name: "readonly-role".into(),
            unix_millis: 1_795_821_617_123,
        }
    }

    #[test]
    fn vault_default_postgres_template() {
        let t = UsernameTemplate::parse(
            r#"{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}"#,
        )
        .unwrap();
        let u = t.render(&meta()).unwrap();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(parts[0], "v");
        assert_eq!(parts[1], "token");
        // "token-longdisplay" truncated to 8 is "token-lo".
        assert_eq!(parts[2], "lo");
        assert_eq!(parts[3], "readonly");
        assert_eq!(parts[4].len(), 20);
        assert_eq!(parts[5], "1795821617");
    }

    #[test]
    fn functions_and_text() {
        let t = UsernameTemplate::parse(
            r#"app_{{ .RoleName | replace "-" "_" | uppercase }}_{{unix_time_millis}}"#,
        )
        .unwrap();
        assert_eq!(
            t.render(&meta()).unwrap(),
            "app_READONLY_ROLE_1795821617123"
        );
        let t = UsernameTemplate::parse("{{ .DisplayName | truncate_sha256 70 }}").unwrap();
        assert_eq!(t.render(&meta()).unwrap(), "token-longdisplay");
        let t = UsernameTemplate::parse("{{ sha256 \"a\" | truncate 4 }}").unwrap();
        assert_eq!(t.render(&meta()).unwrap(), "ca97");
    }

    #[test]
    fn errors() {
        assert!(UsernameTemplate::parse("{{ .Nope }}").is_err());
        assert!(UsernameTemplate::parse("{{ nope 1 }}").is_err());
        assert!(UsernameTemplate::parse("{{ .RoleName ").is_err());
        assert!(UsernameTemplate::parse("{{ truncate }}").is_err());
    }
}
