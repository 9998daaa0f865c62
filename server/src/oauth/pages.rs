//! The server-rendered HTML pages of the authorization flow (consent and errors). Templates are
//! compiled into the binary; values are HTML-escaped by the template engine; pages need no JavaScript.

use super::consent_facts::assess;
use minijinja::{Environment, context};
use std::sync::OnceLock;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Names ending in .html are auto-escaped.
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("consent.html", include_str!("templates/consent.html")),
            ("error.html", include_str!("templates/error.html")),
        ] {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "invalid built-in template");
            }
        }
        env
    })
}

fn render(name: &str, ctx: minijinja::Value) -> String {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            tracing::error!(template = name, error = %e, "rendering failed");
            "<!doctype html><title>Error</title><p>Internal error rendering this page.</p>".into()
        })
}

/// What the consent page shows and carries.
pub struct ConsentPage<'a> {
    /// The name the client gave itself, if any.
    pub client_name: Option<&'a str>,
    pub client_id: &'a str,
    /// The metadata document URL when the client is identified by one.
    pub client_id_url: Option<&'a str>,
    /// The redirect URI of this request (exactly as registered).
    pub redirect_uri: &'a str,
    /// This server's public host (with its port when not the default).
    pub public_host: &'a str,
    pub action: &'a str,
    /// The sealed authorization request.
    pub request: &'a str,
    pub csrf: &'a str,
}

pub fn render_consent(p: &ConsentPage<'_>) -> String {
    let facts = assess(p.client_name, p.client_id_url, p.redirect_uri);
    let (document_url, document_host) = facts.document.unzip();
    render(
        "consent.html",
        context! {
            client_name => facts.name,
            client_id => p.client_id,
            document_url => document_url,
            document_host => document_host,
            redirect_uri => facts.redirect_uri,
            redirect_host => facts.redirect_host,
            loopback => facts.loopback,
            warnings => facts.warnings,
            public_host => p.public_host,
            action => p.action,
            request => p.request,
            csrf => p.csrf,
        },
    )
}

pub fn render_error(title: &str, detail: &str) -> String {
    render("error.html", context! { title => title, detail => detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page<'a>(name: Option<&'a str>, doc: Option<&'a str>, redirect: &'a str) -> ConsentPage<'a> {
        ConsentPage {
            client_name: name,
            client_id: doc.unwrap_or("nmr_client_abc"),
            client_id_url: doc,
            redirect_uri: redirect,
            public_host: "mcp.example.org",
            action: "/authorize/consent",
            request: "sealed",
            csrf: "token",
        }
    }

    /// The page with minijinja's entities decoded (it escapes `/` too), to compare texts.
    fn unescaped(html: &str) -> String {
        html.replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
    }

    /// The text of the element with this id (its first tag's content up to the next closing tag).
    fn by_id(html: &str, id: &str) -> Option<String> {
        let at = html.find(&format!("id=\"{id}\""))?;
        let start = at + html[at..].find('>')? + 1;
        let end = start + html[start..].find("</")?;
        Some(unescaped(&html[start..end]))
    }

    #[test]
    fn consent_page_escapes_client_controlled_text() {
        let html = render_consent(&page(
            Some("<script>alert(1)</script> Claude"),
            None,
            "https://evil.example/cb?x=\"><b>&y=<i>",
        ));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("\"><b>") && !html.contains("<i>"));
        // The name is in the warning too, escaped there as well.
        let warnings = html.find("id=\"warnings\"").expect("a warning");
        assert!(!html[warnings..].contains("<script>alert"));
        assert!(html.contains("name=\"csrf\" value=\"token\""));
        assert!(html.contains("name=\"request\" value=\"sealed\""));
        // A metadata document URL is client-controlled as well.
        let html = render_consent(&page(
            Some("Acme"),
            Some("https://acme.example/c.json?<img src=x onerror=alert(1)>"),
            "https://acme.example/cb",
        ));
        assert!(!html.contains("<img"));
    }

    #[test]
    fn shows_the_full_redirect_uri_the_server_and_a_self_declared_name() {
        let long = format!(
            "https://notes.example.com/oauth/{}/callback?tenant=42",
            "a".repeat(300)
        );
        let html = render_consent(&page(Some("Acme Notes"), None, &long));
        assert_eq!(by_id(&html, "redirect-uri"), Some(long.clone()));
        assert_eq!(
            by_id(&html, "redirect-host"),
            Some("notes.example.com".into())
        );
        assert_eq!(by_id(&html, "public-host"), Some("mcp.example.org".into()));
        assert!(html.contains("You are about to let\n  <strong>Acme Notes</strong>"));
        let who = html.find("id=\"client-name\"").expect("client name");
        assert!(html[who..].contains("calls itself <strong>“Acme Notes”</strong>"));
        assert!(html.contains("self-declared, not verified"));
        assert!(html.contains("any app can register"));
        assert!(!html.contains("id=\"warnings\"") && !html.contains("id=\"loopback-note\""));
        assert!(!html.contains("class=\"tag verified\""));
        // Approving is the default action when nothing is suspicious.
        let approve = html.find("value=\"approve\"").expect("approve");
        assert!(approve < html.find("value=\"deny\"").expect("deny"));
        assert!(html.contains(">Continue to Notion<"));
    }

    #[test]
    fn warns_when_the_name_claims_another_site() {
        let html = render_consent(&page(
            Some("Claude"),
            None,
            "https://claude-auth.example.net/cb",
        ));
        let w = by_id(&html, "warnings-title").expect("warning");
        assert!(w.contains("may not be who it says"));
        assert!(html.contains("role=\"alert\""));
        assert!(html.contains(
            "the code goes to claude-auth.example.net, which is not a site of Claude (claude.ai, claude.com or anthropic.com)"
        ));
        // Cancelling becomes the first (default) button.
        let deny = html.find("value=\"deny\"").expect("deny");
        assert!(deny < html.find("value=\"approve\"").expect("approve"));
        assert!(html.contains(">Continue anyway<"));
        // The real one: no warning.
        let html = render_consent(&page(
            Some("Claude"),
            None,
            "https://claude.ai/api/mcp/auth_callback",
        ));
        assert!(!html.contains("id=\"warnings\""));
    }

    #[test]
    fn loopback_redirects_get_a_note() {
        let html = render_consent(&page(
            Some("My CLI"),
            None,
            "http://127.0.0.1:53682/callback",
        ));
        assert!(by_id(&html, "loopback-note").is_some_and(|n| n.contains("on your own computer")));
        assert_eq!(
            by_id(&html, "redirect-host"),
            Some("127.0.0.1:53682".into())
        );
        assert!(!html.contains("id=\"warnings\""));
    }

    #[test]
    fn metadata_document_clients_show_the_verified_host() {
        let doc = "https://app.example.com/.well-known/client.json";
        let html = render_consent(&page(
            Some("Example"),
            Some(doc),
            "https://app.example.com/cb",
        ));
        let identity = html.find("id=\"client-identity\"").expect("identity");
        let identity = unescaped(&html[identity..]);
        assert!(identity.contains("class=\"tag verified\""));
        assert!(
            identity.contains("client-metadata\n    document at <strong>app.example.com</strong>")
        );
        assert!(identity.contains(doc));
        assert!(html.contains("self-declared, not verified"));
        assert!(!html.contains("any app can register"));
        assert!(!html.contains("id=\"warnings\""));
        let html = render_consent(&page(
            Some("Example"),
            Some(doc),
            "https://elsewhere.example.org/cb",
        ));
        assert!(html.contains(
            "metadata document is at app.example.com, but the code goes to elsewhere.example.org"
        ));
    }

    #[test]
    fn a_client_without_a_name_is_shown_by_its_id() {
        let html = render_consent(&page(None, None, "https://a.example/cb"));
        assert!(html.contains("the client <code>nmr_client_abc</code>"));
        assert!(html.contains("gave no name"));
        assert!(!html.contains("self-declared"));
    }
}
