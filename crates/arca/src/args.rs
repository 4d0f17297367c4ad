//! Go-style flags (`-dev`, `-config=x`, `-format json`) as Vault's CLI takes them, turned
//! into the `--long` form clap parses. Single-letter flags (`-f`, `-n=5`) are left alone.

/// Rewrites `-name[=value]` (a name of two or more characters) into `--name[=value]`;
/// everything after a bare `--` is left as it is. As in Vault, `arca -v`, `arca -version`
/// and `arca --version` alone mean `arca version`.
pub(crate) fn normalize(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let args: Vec<String> = args.into_iter().collect();
    if let [prog, only] = args.as_slice()
        && matches!(only.as_str(), "-v" | "-version" | "--version")
    {
        return vec![prog.clone(), "version".to_owned()];
    }
    let mut out = Vec::new();
    let mut passthrough = false;
    for arg in args {
        if passthrough || arg == "--" {
            passthrough = true;
            out.push(arg);
            continue;
        }
        let name = arg.split('=').next().unwrap_or_default();
        let is_go_long = arg.starts_with('-')
            && !arg.starts_with("--")
            && name.len() > 2
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

    #[test]
    fn single_letter_flags_keep_one_dash() {
        assert_eq!(
            n(&["arca", "operator", "init", "-n=1", "-t", "1"]),
            ["arca", "operator", "init", "-n=1", "-t", "1"]
        );
        assert_eq!(
            n(&["arca", "write", "-f", "sys/rotate"]),
            ["arca", "write", "-f", "sys/rotate"]
        );
        assert_eq!(
            n(&["arca", "read", "-format=json", "x"]),
            ["arca", "read", "--format=json", "x"]
        );
    }

    #[test]
    fn version_flags_mean_the_version_command() {
        for v in ["-v", "-version", "--version"] {
            assert_eq!(n(&["arca", v]), ["arca", "version"]);
        }
        assert_eq!(n(&["arca", "status", "-v"]), ["arca", "status", "-v"]);
    }
}
