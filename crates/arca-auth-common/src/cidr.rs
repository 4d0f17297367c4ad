//! CIDR blocks as auth methods use them: `token_bound_cidrs` (where a token may be used
//! from), AppRole's `secret_id_bound_cidrs` and a secret ID's `cidr_list` (where a login may
//! come from).

use std::net::IpAddr;

/// A parsed CIDR block. Host bits are kept as written (`10.0.0.5/8` stays that), as Vault
/// shows them back; membership masks both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `127.0.0.1` (a /32), `::1` or `fd00::/8`; `None` for anything
    /// else (surrounding whitespace is ignored).
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?))
            }
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = Self::max_prefix(addr);
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    fn max_prefix(addr: IpAddr) -> u8 {
        if addr.is_ipv4() { 32 } else { 128 }
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside the block. IPv4-mapped IPv6 clients match IPv4 blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Whether every address of `inner` lies inside `self`.
    pub fn covers(&self, inner: &Cidr) -> bool {
        inner.prefix >= self.prefix
            && self.addr.is_ipv4() == inner.addr.is_ipv4()
            && self.contains(inner.addr)
    }
}

impl std::fmt::Display for Cidr {
    // A single host is shown without its prefix length, as Vault shows token CIDRs back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix == Self::max_prefix(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// Parses every block (empty items are skipped); `None` if any is invalid.
pub fn parse_all(list: &[String]) -> Option<Vec<Cidr>> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| Cidr::parse(s))
        .collect()
}

/// Validates the blocks and returns them in canonical form (hosts without `/32`), as
/// `token_bound_cidrs` are stored and shown.
pub fn canonical(list: &[String]) -> Option<Vec<String>> {
    parse_all(list).map(|v| v.iter().map(Cidr::to_string).collect())
}

/// Validates the blocks and returns them trimmed but otherwise as written, as AppRole's
/// `secret_id_bound_cidrs` and `cidr_list` are stored and shown.
pub fn as_written(list: &[String]) -> Option<Vec<String>> {
    parse_all(list)?;
    Some(
        list.iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// Whether a client at `remote` may pass a restriction to `blocks`: an empty list
/// restricts nothing; an unknown address never passes a non-empty list.
pub fn remote_allowed(blocks: &[String], remote: Option<IpAddr>) -> bool {
    if blocks.iter().all(|b| b.trim().is_empty()) {
        return true;
    }
    let Some(ip) = remote else {
        return false;
    };
    blocks
        .iter()
        .filter_map(|b| Cidr::parse(b))
        .any(|c| c.contains(ip))
}

/// Whether every block of `inner` lies inside some block of `outer`. An empty `outer`
/// restricts nothing (so anything is a subset); an unparsable block is never a subset.
pub fn is_subset(inner: &[String], outer: &[String]) -> bool {
    let Some(outer) = parse_all(outer) else {
        return false;
    };
    if outer.is_empty() {
        return true;
    }
    let Some(inner) = parse_all(inner) else {
        return false;
    };
    inner.iter().all(|i| outer.iter().any(|o| o.covers(i)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(Cidr::parse("127.0.0.1").unwrap().to_string(), "127.0.0.1");
        assert_eq!(
            Cidr::parse("127.0.0.1/32").unwrap().to_string(),
            "127.0.0.1"
        );
        assert_eq!(
            Cidr::parse(" 10.0.0.0/8 ").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(Cidr::parse("::1").unwrap().to_string(), "::1");
        assert_eq!(Cidr::parse("fd00::/8").unwrap().to_string(), "fd00::/8");
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "::/129",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn membership() {
        let c = Cidr::parse("10.0.0.5/8").unwrap();
        assert!(c.contains("10.200.1.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(remote_allowed(&[], None));
        assert!(!remote_allowed(&s(&["127.0.0.1"]), None));
        assert!(remote_allowed(
            &s(&["10.0.0.0/8", "127.0.0.1"]),
            Some("127.0.0.1".parse().unwrap())
        ));
        assert!(!remote_allowed(
            &s(&["10.0.0.0/8"]),
            Some("127.0.0.1".parse().unwrap())
        ));
    }

    #[test]
    fn subsets() {
        assert!(is_subset(&s(&["10.1.0.0/16"]), &s(&["10.0.0.0/8"])));
        assert!(is_subset(&s(&["10.1.2.3"]), &s(&["10.0.0.0/8"])));
        assert!(!is_subset(&s(&["10.0.0.0/7"]), &s(&["10.0.0.0/8"])));
        assert!(!is_subset(&s(&["11.0.0.0/16"]), &s(&["10.0.0.0/8"])));
        assert!(is_subset(&s(&["11.0.0.0/16"]), &[]));
        assert!(is_subset(&[], &s(&["10.0.0.0/8"])));
        assert!(!is_subset(&s(&["::1"]), &s(&["0.0.0.0/0"])));
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(
            canonical(&s(&["127.0.0.1/32", "", "10.0.0.0/8"])).unwrap(),
            s(&["127.0.0.1", "10.0.0.0/8"])
        );
        assert!(canonical(&s(&["nope"])).is_none());
        assert_eq!(
            as_written(&s(&[" 127.0.0.1/32 "])).unwrap(),
            s(&["127.0.0.1/32"])
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(input in ".{0,40}") {
            let _ = Cidr::parse(&input);
        }

        #[test]
        fn v4_block_contains_its_address(a in proptest::num::u32::ANY, p in 0u8..=32) {
            let ip = std::net::Ipv4Addr::from(a);
            let c = Cidr::parse(&format!("{ip}/{p}")).unwrap();
            proptest::prop_assert!(c.contains(IpAddr::V4(ip)));
            proptest::prop_assert!(c.covers(&Cidr::parse(&ip.to_string()).unwrap()));
        }
    }
}
