//! What the consent page tells the user about who is asking, and when it warns (docs/oauth.md, "The
//! consent page").
//!
//! A client's name is whatever it chose: shown as self-declared. A client identified by a Client ID
//! Metadata Document is known by the host its document was fetched from, which is verified (`cimd` fetches
//! it from exactly its `client_id` URL). The redirect URI is where the authorization code goes: shown in
//! full, as parsed and serialized (the address the browser is sent to: international hosts in punycode,
//! other non-ASCII percent-encoded), so look-alike characters cannot pass for ASCII.
//!
//! The warning rule:
//! 1. What the name claims: the well-known products of [`PRODUCTS`] it names (whole words, compared by a
//!    small "skeleton" in the spirit of Unicode TR39: case, Cyrillic and Greek look-alikes, `0`→`o`,
//!    `1`/`i`/`I`/`|`→`l`, `rn`→`m`, `vv`→`w`), whose sites are then the only ones expected; otherwise
//!    the domains written in the name (`notes.example.com`). A name claiming neither claims nothing.
//! 2. A redirect on the web must be at a registrable domain ([`registrable_domain`]) of the claimed
//!    sites; a loopback redirect (a native app) only fits a product marked as a native app.
//! 3. A client identified by a metadata document: a redirect on the web must be at the registrable
//!    domain of the document's host.
//! 4. A redirect or metadata document host in punycode (`xn--`) is flagged: its letters may imitate
//!    another site's.
//!
//! Loopback redirects always get a note (the code goes to a program on this computer).

use std::net::IpAddr;

/// A well-known client product: the words that name it and where its redirects go.
pub struct Product {
    pub name: &'static str,
    /// Words naming it, compared by skeleton as whole words.
    pub aliases: &'static [&'static str],
    /// Registrable domains of its redirect URIs.
    pub domains: &'static [&'static str],
    /// A native app that may redirect to loopback (RFC 8252).
    pub loopback: bool,
}

/// The products the name check knows; the most specific first (a name matching one is not matched
/// again by a shorter one: "Claude Code" is not also "Claude").
pub const PRODUCTS: &[Product] = &[
    Product {
        name: "Claude Code",
        aliases: &["claude code", "claudecode"],
        domains: &["claude.ai", "claude.com", "anthropic.com"],
        loopback: true,
    },
    Product {
        name: "Claude",
        aliases: &["claude", "anthropic"],
        domains: &["claude.ai", "claude.com", "anthropic.com"],
        loopback: false,
    },
    Product {
        name: "ChatGPT",
        aliases: &["chatgpt", "openai"],
        domains: &["chatgpt.com", "openai.com"],
        loopback: false,
    },
    Product {
        name: "Cursor",
        aliases: &["cursor"],
        domains: &["cursor.com", "cursor.sh"],
        loopback: true,
    },
    Product {
        name: "VS Code",
        aliases: &["vs code", "vscode", "visual studio code"],
        domains: &["vscode.dev"],
        loopback: true,
    },
    Product {
        name: "Windsurf",
        aliases: &["windsurf", "codeium"],
        domains: &["windsurf.com", "codeium.com"],
        loopback: true,
    },
];

/// Suffixes under which anyone can get a name: the label before them is part of the registrable domain.
const SHARED_SUFFIXES: &[&str] = &[
    "github.io",
    "vercel.app",
    "netlify.app",
    "pages.dev",
    "workers.dev",
    "web.app",
    "firebaseapp.com",
    "appspot.com",
    "herokuapp.com",
    "azurewebsites.net",
    "onrender.com",
    "fly.dev",
    "ngrok.io",
    "ngrok-free.app",
    "trycloudflare.com",
];

/// Second-level labels under two-letter country domains (`example.co.uk`).
const COUNTRY_SECOND_LEVEL: &[&str] = &["co", "com", "net", "org", "gov", "edu", "ac", "or", "ne"];

/// Endings of file names, not domains, in a name such as "Next.js client".
const NOT_TLDS: &[&str] = &[
    "js", "ts", "jsx", "tsx", "mjs", "cjs", "py", "rb", "rs", "go", "md", "json", "yaml", "yml",
    "toml", "exe", "txt",
];

/// What the consent page shows about a client and its redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentFacts {
    /// The client's self-declared name, cleaned of invisible characters; `None` when it gave none.
    pub name: Option<String>,
    /// The metadata document URL and its host (verified), for clients identified by one.
    pub document: Option<(String, String)>,
    /// The redirect URI as the browser will be sent to it.
    pub redirect_uri: String,
    /// Its host (punycode for international names), with the port when it has one.
    pub redirect_host: String,
    /// The redirect goes to this computer (a native app).
    pub loopback: bool,
    /// Reasons to doubt the client is who its name says, in words for the user.
    pub warnings: Vec<String>,
}

/// The facts about a client asking for consent.
pub fn assess(name: Option<&str>, document_url: Option<&str>, redirect_uri: &str) -> ConsentFacts {
    let name = name.map(clean_name).filter(|n| !n.trim().is_empty());
    let parsed = url::Url::parse(redirect_uri).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let redirect_host = match parsed.as_ref().and_then(url::Url::port) {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let loopback = is_loopback(&host);
    let document = document_url.map(|u| match url::Url::parse(u) {
        Ok(p) => {
            let h = p.host_str().unwrap_or("").to_ascii_lowercase();
            (p.to_string(), h)
        }
        Err(_) => (u.to_string(), String::new()),
    });
    let mut warnings = Vec::new();
    if let Some(n) = &name
        && let Some(w) = name_warning(n, &host, loopback)
    {
        warnings.push(w);
    }
    if let Some((_, doc_host)) = &document
        && !loopback
        && registrable_domain(doc_host) != registrable_domain(&host)
    {
        warnings.push(format!(
            "Its metadata document is at {doc_host}, but the code goes to {host}, another site."
        ));
    }
    let doc_host = document.as_ref().map(|(_, h)| h.as_str());
    for (what, h) in [
        ("redirect host", Some(host.as_str())),
        ("metadata document's host", doc_host),
    ] {
        if let Some(h) = h
            && h.split('.').any(|l| l.starts_with("xn--"))
        {
            warnings.push(format!(
                "The {what} {h} is an international name (punycode); its letters may imitate another site's."
            ));
        }
    }
    ConsentFacts {
        name,
        document,
        redirect_uri: parsed.map_or_else(|| redirect_uri.to_string(), |u| u.to_string()),
        redirect_host,
        loopback,
        warnings,
    }
}

/// The warning when the redirect does not fit what the name claims (rule steps 1 and 2).
fn name_warning(name: &str, host: &str, loopback: bool) -> Option<String> {
    let products = named_products(name);
    let (expected, loopback_ok): (Vec<String>, bool) = if products.is_empty() {
        let domains: Vec<String> = domains_in(name);
        if domains.is_empty() {
            return None;
        }
        (domains, false)
    } else {
        let mut d: Vec<String> = Vec::new();
        for p in &products {
            for dom in p.domains {
                if !d.iter().any(|x| x == dom) {
                    d.push((*dom).to_string());
                }
            }
        }
        (d, products.iter().any(|p| p.loopback))
    };
    let sites = or_list(&expected);
    let target = if products.is_empty() {
        sites
    } else {
        let claimed = products.iter().map(|p| p.name).collect::<Vec<_>>();
        format!("a site of {} ({sites})", claimed.join(" or "))
    };
    if loopback {
        return (!loopback_ok).then(|| {
            format!(
                "It calls itself “{name}”, but the code goes to a program on this computer ({host}), not to {target}."
            )
        });
    }
    let reg = registrable_domain(host);
    if expected.iter().any(|d| registrable_domain(d) == reg) {
        return None;
    }
    Some(format!(
        "It calls itself “{name}”, but the code goes to {host}, which is not {target}."
    ))
}

/// "a", "a or b", "a, b or c".
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The products a name names (rule step 1).
pub fn named_products(name: &str) -> Vec<&'static Product> {
    let mut words = format!(" {} ", words_of(&skeleton(name)));
    let mut found = Vec::new();
    for p in PRODUCTS {
        for alias in p.aliases {
            let needle = format!(" {} ", words_of(&skeleton(alias)));
            if let Some(at) = words.find(&needle) {
                // Blank the match out so a shorter product's alias does not match it again.
                words.replace_range(at + 1..at + needle.len() - 1, &" ".repeat(needle.len() - 2));
                if !found.iter().any(|f: &&Product| f.name == p.name) {
                    found.push(p);
                }
            }
        }
    }
    found
}

/// Lowercase alphanumeric words separated by single spaces.
fn words_of(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A look-alike-folded form of a text: lowercase ASCII where a character imitates one.
pub fn skeleton(s: &str) -> String {
    let folded: String = s
        .chars()
        .map(|c| match c {
            'а' | 'А' | 'α' | 'Α' => 'a',
            'в' | 'В' | 'Β' => 'b',
            'с' | 'С' | 'ϲ' => 'c',
            'ԁ' => 'd',
            'е' | 'Е' | 'Ε' | 'ё' => 'e',
            'ɡ' => 'g',
            'һ' | 'Н' | 'Η' => 'h',
            'і' | 'І' | 'ι' | 'Ι' | 'ӏ' | 'i' | 'I' | '1' | '|' | '!' => 'l',
            'ј' | 'Ј' => 'j',
            'К' | 'κ' | 'Κ' => 'k',
            'М' | 'Μ' => 'm',
            'Ν' => 'n',
            'о' | 'О' | 'ο' | 'Ο' | '0' => 'o',
            'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
            'ԛ' => 'q',
            'ѕ' | 'Ѕ' => 's',
            'Т' | 'τ' | 'Τ' => 't',
            'υ' => 'u',
            'ν' => 'v',
            'ԝ' => 'w',
            'х' | 'Х' | 'Χ' | 'χ' => 'x',
            'у' | 'У' | 'Υ' => 'y',
            'Ζ' => 'z',
            // Fullwidth Latin letters and digits.
            '\u{FF10}'..='\u{FF5A}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'i' { 'l' } else { c })
        .collect();
    folded.replace("rn", "m").replace("vv", "w")
}

/// Domains written in a name, lowercased (rule step 1).
fn domains_in(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in name.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')) {
        let t = token
            .trim_matches(|c| c == '.' || c == '-')
            .to_ascii_lowercase();
        let labels: Vec<&str> = t.split('.').collect();
        let Some(tld) = labels.last() else { continue };
        let is_domain = labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty())
            && tld.len() >= 2
            && tld.chars().all(|c| c.is_ascii_alphabetic())
            && !NOT_TLDS.contains(tld);
        if is_domain && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The part of a host one owner controls, without a public suffix list: the last two labels, three
/// under a two-letter country domain with a common second level (`example.co.uk`) or under a shared
/// hosting suffix (`name.github.io`); an IP address or single label as it is.
pub fn registrable_domain(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return host;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let shared = SHARED_SUFFIXES
        .iter()
        .any(|s| host.ends_with(&format!(".{s}")));
    let country =
        n >= 3 && labels[n - 1].len() == 2 && COUNTRY_SECOND_LEVEL.contains(&labels[n - 2]);
    let keep = if shared || country { 3 } else { 2 };
    labels[n.saturating_sub(keep)..].join(".")
}

/// A host on this computer: `localhost` (and names under it) or a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host.ends_with(".localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A name without control, format and invisible characters (bidirectional overrides, zero-width
/// spaces, variation selectors…), which could make it read as something else.
pub fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|&c| {
            !(c.is_control()
                || matches!(c as u32,
                    0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
                    | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
                    | 0xFEFF | 0xFFA0 | 0xE0000..=0xE0FFF))
        })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warns(name: &str, redirect: &str) -> Vec<String> {
        assess(Some(name), None, redirect).warnings
    }

    #[test]
    fn product_names_expect_their_sites() {
        assert!(warns("Claude", "https://claude.ai/api/mcp/auth_callback").is_empty());
        assert!(warns("Claude", "https://www.anthropic.com/cb").is_empty());
        assert!(warns("claude.ai", "https://claude.com/cb").is_empty());
        let w = warns("Claude", "https://claude-login.example.net/cb");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("a site of Claude"), "{w:?}");
        assert!(w[0].contains("claude-login.example.net"), "{w:?}");
        assert!(
            w[0].contains("claude.ai, claude.com or anthropic.com"),
            "{w:?}"
        );
        // A subdomain of another site is still another site.
        assert_eq!(
            warns("Claude", "https://claude.ai.evil.example/cb").len(),
            1
        );
        assert!(warns("Cursor", "https://www.cursor.sh/cb").is_empty());
        assert_eq!(warns("Cursor", "https://cursor.example/cb").len(), 1);
        assert!(warns("Visual Studio Code", "https://vscode.dev/redirect").is_empty());
        assert!(
            warns(
                "ChatGPT",
                "https://chatgpt.com/connector_platform_oauth_redirect"
            )
            .is_empty()
        );
        assert_eq!(
            warns("Connector for ChatGPT", "https://x.example/cb").len(),
            1
        );
    }

    #[test]
    fn loopback_fits_native_products_only() {
        // Claude on the web redirects to claude.ai; a "Claude" on loopback is not it.
        let w = warns("Claude", "http://127.0.0.1:53682/callback");
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("a program on this computer (127.0.0.1)"),
            "{w:?}"
        );
        assert!(warns("Claude Code (notion)", "http://localhost:33418/callback").is_empty());
        assert!(warns("VS Code", "http://127.0.0.1:33418/").is_empty());
        assert!(warns("Cursor", "http://[::1]:4000/cb").is_empty());
        // A name with a domain claims a website; loopback is not it.
        assert_eq!(warns("notes.example.com", "http://localhost:9/cb").len(), 1);
        // A name that claims nothing: no warning, but the note.
        let f = assess(Some("My CLI"), None, "http://127.0.0.1:9/cb");
        assert!(f.loopback && f.warnings.is_empty());
    }

    #[test]
    fn domains_in_names_are_compared_by_registrable_domain() {
        assert!(warns("Acme (notes.acme.co.uk)", "https://auth.acme.co.uk/cb").is_empty());
        assert_eq!(warns("notes.acme.co.uk", "https://evil.co.uk/cb").len(), 1);
        assert!(warns("docs.example.com app", "https://example.com/cb").is_empty());
        assert_eq!(
            warns("alice.github.io", "https://mallory.github.io/cb").len(),
            1
        );
        // File endings and versions are not domains; nothing is claimed.
        assert!(warns("Next.js helper v1.2", "https://x.example/cb").is_empty());
        assert!(warns("Acme Notes", "https://x.example/cb").is_empty());
    }

    #[test]
    fn look_alike_names_still_name_the_product() {
        for name in ["CIaude", "Сlaude", "ＣＬＡＵＤＥ", "C1aude.ai", "Anthr0pic"] {
            let products = named_products(name);
            assert_eq!(products.len(), 1, "{name}");
            assert_eq!(products[0].name, "Claude");
        }
        // A domain in a look-alike name does not vouch for itself.
        assert_eq!(warns("cIaude.ai", "https://ciaude.ai/cb").len(), 1);
        // Invisible characters do not split the word either.
        assert_eq!(warns("Cla\u{200B}ude", "https://x.example/cb").len(), 1);
        // "Claude Code" is one product, not also "Claude"; whole words only.
        let p = named_products("Claude Code (my server)");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "Claude Code");
        assert!(named_products("Claudette").is_empty());
        assert!(named_products("Precursor").is_empty());
    }

    #[test]
    fn metadata_documents_vouch_for_their_own_site() {
        let url = "https://app.example.com/oauth/client.json";
        let doc = Some(url);
        let f = assess(Some("Example"), doc, "https://login.example.com/cb");
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        assert_eq!(
            f.document,
            Some((url.to_string(), "app.example.com".into()))
        );
        let f = assess(Some("Example"), doc, "https://other.example.org/cb");
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].contains("metadata document is at app.example.com"));
        // A native app publishing its document on the web redirects to loopback.
        assert!(
            assess(None, doc, "http://127.0.0.1:8080/cb")
                .warnings
                .is_empty()
        );
        // Both checks run: a document on a phishing site naming itself Claude.
        let f = assess(
            Some("Claude"),
            Some("https://evil.example/c.json"),
            "https://evil.example/cb",
        );
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].contains("a site of Claude"));
    }

    #[test]
    fn redirect_is_shown_as_the_browser_will_see_it() {
        // A Cyrillic "с" in the host.
        let f = assess(Some("X"), None, "https://\u{0441}laude.ai/cb/é");
        assert!(f.redirect_host.starts_with("xn--"), "{}", f.redirect_host);
        assert!(f.redirect_uri.is_ascii() && f.redirect_uri.ends_with("/cb/%C3%A9"));
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].contains("punycode"));
        let f = assess(
            None,
            Some("https://\u{0441}laude.ai/client.json"),
            "http://127.0.0.1:9/cb",
        );
        assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
        assert!(f.warnings[0].contains("metadata document's host xn--"));
        assert!(f.document.is_some_and(|(u, _)| u.is_ascii()));
        let f = assess(Some("X"), None, "http://localhost:8976/callback");
        assert_eq!(f.redirect_host, "localhost:8976");
        assert!(f.loopback);
    }

    #[test]
    fn names_lose_invisible_characters() {
        assert_eq!(clean_name(" Cl\u{202E}au\u{200B}de\u{0007} "), "Claude");
        assert_eq!(
            assess(Some(" \u{200B} "), None, "https://a.example/").name,
            None
        );
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable_domain("a.b.claude.ai"), "claude.ai");
        assert_eq!(registrable_domain("Claude.AI."), "claude.ai");
        assert_eq!(registrable_domain("x.acme.co.uk"), "acme.co.uk");
        assert_eq!(registrable_domain("x.alice.github.io"), "alice.github.io");
        assert_eq!(registrable_domain("127.0.0.1"), "127.0.0.1");
        assert_eq!(registrable_domain("[::1]"), "[::1]");
        assert_eq!(registrable_domain("localhost"), "localhost");
    }
}
