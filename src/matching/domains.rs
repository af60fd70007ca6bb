//! Address and domain canonical forms for matching, and the one list of
//! public mail domains that never match by domain (SPEC §7).
//!
//! The forms are the store's (`store::directory` keeps its normalisers
//! private): domains lowercase ASCII with IDN as punycode, local parts
//! lowercased with plus-tags and dots kept as written. Normalising again here
//! makes the matcher correct for a directory that did not come from the store
//! (tests, a JSON file) and for a participant a parser left in Unicode.

/// Lowercase ASCII form of a domain (IDN → punycode), without a leading `@`
/// or trailing dot; `None` for IP literals and single-label names.
pub fn normalize_domain(d: &str) -> Option<String> {
    let d = d.trim().trim_start_matches('@').trim_end_matches('.');
    match url::Host::parse(d).ok()? {
        url::Host::Domain(ascii) if ascii.contains('.') => Some(ascii.to_ascii_lowercase()),
        _ => None,
    }
}

/// `local@domain` with the local part lowercased (plus-tags and dots kept, as
/// Gmail's own dot-folding is not something other providers do) and the
/// domain canonicalised.
pub fn normalize_address(a: &str) -> Option<String> {
    let (local, domain) = a.trim().rsplit_once('@')?;
    if local.is_empty() || local.chars().any(char::is_whitespace) {
        return None;
    }
    Some(format!(
        "{}@{}",
        local.to_lowercase(),
        normalize_domain(domain)?
    ))
}

/// The domain and each parent that still has two labels, most specific
/// first: `a.eu.acme.com` → `a.eu.acme.com`, `eu.acme.com`, `acme.com`.
pub fn suffixes(domain: &str) -> impl Iterator<Item = &str> {
    let starts = std::iter::once(0).chain(domain.match_indices('.').map(|(i, _)| i + 1));
    starts
        .map(move |i| &domain[i..])
        .filter(|s| s.contains('.'))
}

/// Consumer mailbox providers matched by exact name. Everyone at these
/// domains is an individual, so a domain rule would link strangers.
const PUBLIC_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "passport.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "aim.com",
    "proton.me",
    "protonmail.com",
    "protonmail.ch",
    "pm.me",
    "tutanota.com",
    "tutanota.de",
    "tuta.io",
    "web.de",
    "t-online.de",
    "freenet.de",
    "mail.ru",
    "mail.de",
    "inbox.ru",
    "list.ru",
    "bk.ru",
    "rambler.ru",
    "ya.ru",
    "qq.com",
    "foxmail.com",
    "163.com",
    "126.com",
    "yeah.net",
    "sina.com",
    "naver.com",
    "daum.net",
    "hanmail.net",
    "zoho.com",
    "zohomail.com",
    "fastmail.com",
    "fastmail.fm",
    "hey.com",
    "mail.com",
    "email.com",
    "usa.com",
    "inbox.com",
    "rediffmail.com",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "onet.pl",
    "libero.it",
    "virgilio.it",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "btinternet.com",
    "sky.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "cox.net",
    "charter.net",
    "shaw.ca",
    "rogers.com",
    "bigpond.com",
    "optusnet.com.au",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
];

/// Providers present under many country suffixes (`yahoo.co.jp`, `gmx.at`,
/// `hotmail.co.uk`): public when followed by a short public suffix.
const PUBLIC_BRANDS: &[&str] = &[
    "hotmail",
    "outlook",
    "live",
    "windowslive",
    "yahoo",
    "ymail",
    "rocketmail",
    "gmx",
    "yandex",
    "aol",
];

/// Second-level labels under a country code (`co.uk`, `com.br`, `ne.jp`).
const GENERIC_SECOND_LEVEL: &[&str] = &["co", "com", "net", "org", "ne", "or"];

/// Whether `domain` (canonical form) or a parent of it is a public mail
/// domain, e.g. `gmail.com`, `hotmail.co.uk`, `gmx.net`, `yandex.com.tr`.
pub fn is_public_domain(domain: &str) -> bool {
    suffixes(domain).any(|d| PUBLIC_DOMAINS.contains(&d) || is_public_brand(d))
}

fn is_public_brand(domain: &str) -> bool {
    let Some((brand, rest)) = domain.split_once('.') else {
        return false;
    };
    // A top-level suffix (`de`, `net`) or a generic second level under a
    // country code (`co.uk`, `com.br`); `yahoo.company.com` is a company.
    let rest_is_suffix = match rest.split_once('.') {
        None => true,
        Some((second, cc)) => GENERIC_SECOND_LEVEL.contains(&second) && !cc.contains('.'),
    };
    PUBLIC_BRANDS.contains(&brand) && rest_is_suffix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_walk_up_to_two_labels() {
        let all: Vec<&str> = suffixes("a.eu.acme.com").collect();
        assert_eq!(all, ["a.eu.acme.com", "eu.acme.com", "acme.com"]);
        assert_eq!(suffixes("acme.com").collect::<Vec<_>>(), ["acme.com"]);
    }

    #[test]
    fn public_brands_need_a_short_suffix() {
        for d in [
            "hotmail.co.uk",
            "yahoo.co.jp",
            "gmx.de",
            "yandex.com.tr",
            "mail.gmail.com",
        ] {
            assert!(is_public_domain(d), "{d}");
        }
        for d in [
            "yahoo.company.com",
            "live.abc.com",
            "acme.com",
            "gmxx.de",
            "mailchimp.com",
        ] {
            assert!(!is_public_domain(d), "{d}");
        }
    }
}
