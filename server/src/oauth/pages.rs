//! The server-rendered HTML pages of the authorization flow (consent and errors). Templates are
//! compiled into the binary; values are HTML-escaped by the template engine; pages need no JavaScript.

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
    pub client_name: &'a str,
    pub redirect_host: &'a str,
    /// The metadata document URL when the client is identified by one.
    pub client_id_url: Option<&'a str>,
    pub action: &'a str,
    /// The sealed authorization request.
    pub request: &'a str,
    pub csrf: &'a str,
}

pub fn render_consent(p: &ConsentPage<'_>) -> String {
    render(
        "consent.html",
        context! {
            client_name => p.client_name,
            redirect_host => p.redirect_host,
            client_id_url => p.client_id_url,
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

    #[test]
    fn consent_page_escapes_client_controlled_text() {
        let html = render_consent(&ConsentPage {
            client_name: "<script>alert(1)</script>",
            redirect_host: "evil.example\"><b>",
            client_id_url: None,
            action: "/authorize/consent",
            request: "sealed",
            csrf: "token",
        });
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("\"><b>"));
        assert!(html.contains("name=\"csrf\" value=\"token\""));
    }
}
