//! Go-style flags (`-dev`, `-config=x`, `-format json`) as Vault's CLI takes them, turned
//! into the `--long` form clap parses. Single-letter flags are left alone.

/// Rewrites `-name[=value]` (two or more letters) into `--name[=value]`; everything after
/// a bare `--` is left as it is.
pub(crate) fn normalize(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for arg in args {
        if passthrough || arg == "--" {
            passthrough = true;
            out.push(arg);
            continue;
        }
        let is_go_long = arg.starts_with('-')
            && !arg.starts_with("--")
            && arg.len() > 2
            && arg.as_bytes().get(1).is_some_and(u8::is_ascii_alphabetic);
        out.push(if is_go_long { format!("-{arg}") } else { arg });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    fn n(args: &[&str]) -> Vec<String> {
        normalize(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn go_flags_become_long_flags() {
        assert_eq!(n(&["arca", "server", "-dev"]), ["arca", "server", "--dev"]);
        assert_eq!(
            n(&["arca", "server", "-config=a.hcl"]),
            ["arca", "server", "--config=a.hcl"]
        );
        assert_eq!(n(&["arca", "server", "--dev"]), ["arca", "server", "--dev"]);
        assert_eq!(n(&["arca", "x", "-h"]), ["arca", "x", "-h"]);
        assert_eq!(n(&["arca", "x", "--", "-dev"]), ["arca", "x", "--", "-dev"]);
        assert_eq!(n(&["arca", "x", "-5"]), ["arca", "x", "-5"]);
    }
}
