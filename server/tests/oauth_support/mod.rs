//! OAuth test support: a server in OAuth mode against the fake Notion, and a "browser" that keeps
//! cookies and follows redirects by hand, submitting the consent form like a user would.
#![allow(dead_code, clippy::unwrap_used)]

use crate::common::{Harness, test_args};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use notion_fake::{FakeNotion, Fixture, RunningFake};
use notion_mcp_remote::app;
use notion_mcp_remote::config::{AuthMode, Redacted, ServeArgs, Settings};
use notion_mcp_remote::store::Store;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const NOTION_CLIENT_ID: &str = "nmr-notion-integration";
pub const NOTION_CLIENT_SECRET: &str = "nmr-notion-integration-secret";

/// A running OAuth-mode server.
pub struct OAuthServer {
    pub h: Harness,
    pub store: Store,
    /// The MCP URL tokens are for (the public URL, which may differ from where this one listens).
    pub resource: String,
}

/// Start a server in OAuth mode on `fake` (already running), sharing `store`.
pub async fn start_on(
    fake: RunningFake,
    store: Store,
    tweak: impl FnOnce(&mut ServeArgs),
) -> OAuthServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut args = test_args();
    args.listen = addr;
    args.notion_base_url = fake.base_url().parse().unwrap();
    args.auth_mode = AuthMode::Oauth;
    args.oauth.notion_oauth_client_id = Some(NOTION_CLIENT_ID.into());
    args.oauth.notion_oauth_client_secret = Some(Redacted(NOTION_CLIENT_SECRET.into()));
    args.oauth.cimd_allow_loopback = true;
    args.oauth.rate_limit_per_minute = 0;
    tweak(&mut args);
    let settings = Settings::from_args(args).unwrap();
    let callback = format!("{}/oauth/callback", settings.public_base);
    let resource = settings.mcp_url();
    let mut uris = fake
        .fake
        .with_state(|s| {
            s.oauth
                .clients
                .get(NOTION_CLIENT_ID)
                .map(|c| c.redirect_uris.clone())
        })
        .unwrap_or_default();
    uris.push(callback);
    fake.fake
        .register_oauth_client(NOTION_CLIENT_ID, NOTION_CLIENT_SECRET, uris);
    let built = app::build_with_store(settings, None, Some(store.clone())).unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(app::serve(built, listener, stop.clone()));
    let base = format!("http://localhost:{}", addr.port());
    OAuthServer {
        h: Harness::from_parts(fake, format!("{base}/mcp"), base, stop, task),
        store,
        resource,
    }
}

/// Start a fake with `fixture` and one OAuth server with a fresh in-memory store.
pub async fn start(fixture: Fixture) -> OAuthServer {
    let fake = FakeNotion::start(fixture).await.unwrap();
    notion_mcp_remote::notion::markdown::codec::install(&fake);
    start_on(fake, Store::in_memory(), |_| {}).await
}

/// A PKCE pair.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A browser: a cookie jar and manual redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

/// One response as the browser saw it.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            let max_age_zero = v.contains("Max-Age=0");
            if max_age_zero || val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        Page {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }
}

/// The value of a hidden form field in a page.
pub fn form_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// Query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct TestClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uri: String,
}

impl OAuthServer {
    pub fn base(&self) -> &str {
        &self.h.base
    }

    /// Register a client (public when `auth_method` is "none").
    pub async fn register(&self, auth_method: &str) -> TestClient {
        let redirect_uri = "http://127.0.0.1:9/callback".to_string();
        let resp = self
            .h
            .http
            .post(format!("{}/register", self.base()))
            .json(&json!({
                "client_name": "Test Client",
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": auth_method,
                "grant_types": ["authorization_code", "refresh_token"],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let v: Value = resp.json().await.unwrap();
        TestClient {
            client_id: v["client_id"].as_str().unwrap().into(),
            client_secret: v["client_secret"].as_str().map(str::to_string),
            redirect_uri,
        }
    }

    /// The authorize URL for a client.
    pub fn authorize_url(&self, c: &TestClient, challenge: &str, state: &str) -> String {
        let mut u = url::Url::parse(&format!("{}/authorize", self.base())).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &c.client_id)
            .append_pair("redirect_uri", &c.redirect_uri)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", state)
            .append_pair("resource", &self.resource)
            .append_pair("scope", "notion");
        u.to_string()
    }

    /// Run the browser part of a login: consent (unless remembered), Notion (choosing `workspace`),
    /// callback. Returns the final redirect to the client.
    pub async fn login(
        &self,
        b: &mut Browser,
        authorize_url: &str,
        workspace: Option<&str>,
    ) -> String {
        let mut page = b.get(authorize_url).await;
        if page.status == 200 {
            let request = form_field(&page.body, "request").expect("consent form");
            let csrf = form_field(&page.body, "csrf").expect("csrf field");
            page = b
                .post_form(
                    &format!("{}/authorize/consent", self.base()),
                    &[
                        ("request", &request),
                        ("csrf", &csrf),
                        ("decision", "approve"),
                    ],
                )
                .await;
        }
        assert_eq!(page.status, 303, "to Notion: {}", page.body);
        let mut notion = page.location.unwrap();
        if let Some(ws) = workspace {
            notion.push_str(&format!("&fake_workspace={}", urlencode(ws)));
        }
        let at_notion = b.get(&notion).await;
        assert!(
            matches!(at_notion.status, 302 | 303),
            "Notion: {}",
            at_notion.body
        );
        let callback = b.get(&at_notion.location.unwrap()).await;
        assert_eq!(callback.status, 303, "callback: {}", callback.body);
        callback.location.unwrap()
    }

    /// POST /token with a form (client credentials added per the client's method).
    pub async fn token(&self, c: &TestClient, form: &[(&str, &str)]) -> (u16, Value) {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("client_id", &c.client_id));
        if let Some(s) = &c.client_secret {
            fields.push(("client_secret", s));
        }
        let resp = self
            .h
            .http
            .post(format!("{}/token", self.base()))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Register, log in, exchange the code: (client, access, refresh).
    pub async fn connect(&self, workspace: Option<&str>) -> (TestClient, String, String) {
        let c = self.register("none").await;
        let (verifier, challenge) = pkce();
        let mut b = Browser::new();
        let back = self
            .login(&mut b, &self.authorize_url(&c, &challenge, "st"), workspace)
            .await;
        let q = query(&back);
        assert_eq!(q.get("state").map(String::as_str), Some("st"));
        let code = q.get("code").expect("code").clone();
        let (status, tokens) = self
            .token(
                &c,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &c.redirect_uri),
                    ("code_verifier", &verifier),
                    ("resource", &self.resource),
                ],
            )
            .await;
        assert_eq!(status, 200, "{tokens}");
        (
            c,
            tokens["access_token"].as_str().unwrap().into(),
            tokens["refresh_token"].as_str().unwrap().into(),
        )
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
