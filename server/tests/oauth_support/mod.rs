//! OAuth test support: a server in OAuth mode against the fake Notion, and a "browser" that keeps
//! cookies and follows redirects by hand, submitting the consent form like a user would. The client
//! side ([`Endpoint`]) drives any server by its base URL — in-process ([`OAuthServer`] derefs to one)
//! or a child process ([`child_endpoint`]); its `try_` methods report a server that went away instead
//! of panicking.
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
    /// The client side, pointed at this server.
    pub ep: Endpoint,
}

impl std::ops::Deref for OAuthServer {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.ep
    }
}

/// An OAuth-mode server as its clients see it: a base URL and the resource its tokens are for.
#[derive(Clone)]
pub struct Endpoint {
    pub http: reqwest::Client,
    /// Where the server listens, e.g. `http://127.0.0.1:8080`.
    pub base: String,
    /// The MCP URL tokens are for (the public URL, which may differ from where this one listens).
    pub resource: String,
}

/// Registers `base`'s callback with the fake Notion's OAuth client (keeping earlier ones).
pub fn allow_callback(fake: &RunningFake, base: &str) {
    let callback = format!("{base}/oauth/callback");
    let mut uris = fake
        .fake
        .with_state(|s| {
            s.oauth
                .clients
                .get(NOTION_CLIENT_ID)
                .map(|c| c.redirect_uris.clone())
        })
        .unwrap_or_default();
    if !uris.contains(&callback) {
        uris.push(callback);
    }
    fake.fake
        .register_oauth_client(NOTION_CLIENT_ID, NOTION_CLIENT_SECRET, uris);
}

/// The command-line arguments of a child-process server in OAuth mode on `fake`, listening on
/// `port` (public URL `http://localhost:<port>`), and its endpoint. Limits that would slow a burst of
/// logins down are lifted.
pub fn child_endpoint(fake: &RunningFake, port: u16) -> (Vec<String>, Endpoint) {
    let public = format!("http://localhost:{port}");
    allow_callback(fake, &public);
    let args = [
        "--auth-mode",
        "oauth",
        "--notion-base-url",
        fake.base_url(),
        "--notion-oauth-client-id",
        NOTION_CLIENT_ID,
        "--notion-oauth-client-secret",
        NOTION_CLIENT_SECRET,
        "--registrations-per-minute",
        "100000",
        "--rate-limit-per-minute",
        "0",
        "--pacing-rps",
        "1000",
        "--pacing-burst",
        "1000",
    ]
    .map(String::from)
    .to_vec();
    let ep = Endpoint {
        http: endpoint_http(),
        base: format!("http://127.0.0.1:{port}"),
        resource: format!("{public}/mcp"),
    };
    (args, ep)
}

fn endpoint_http() -> reqwest::Client {
    notion_mcp_remote::notion::client::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// How a login that did not complete ended.
#[derive(Debug)]
pub struct Interrupted {
    /// Where it stopped.
    pub step: &'static str,
    /// Set when the code exchange was sent but its answer never arrived: (client, code, verifier).
    pub exchange_lost: Option<(TestClient, String, String)>,
}

/// Tokens a client fully received.
#[derive(Debug, Clone)]
pub struct Connected {
    pub client: TestClient,
    pub access: String,
    pub refresh: String,
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
    let resource = settings.mcp_url();
    allow_callback(&fake, &settings.public_base);
    let built = app::build_with_store(settings, None, Some(store.clone())).unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(app::serve(built, listener, stop.clone()));
    let base = format!("http://localhost:{}", addr.port());
    OAuthServer {
        h: Harness::from_parts(fake, format!("{base}/mcp"), base.clone(), stop, task),
        store,
        ep: Endpoint {
            http: endpoint_http(),
            base,
            resource,
        },
    }
}

/// Start a fake with `fixture` and one OAuth server with a fresh in-memory store.
pub async fn start(fixture: Fixture) -> OAuthServer {
    let fake = FakeNotion::start(fixture).await.unwrap();
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
            // A server killed mid-request must end the request, not hang the test.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
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
        self.try_get(url).await.unwrap()
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        self.try_post_form(url, form).await.unwrap()
    }

    pub async fn try_get(&mut self, url: &str) -> reqwest::Result<Page> {
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await?;
        Ok(self.finish(resp).await)
    }

    pub async fn try_post_form(
        &mut self,
        url: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Result<Page> {
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await?;
        Ok(self.finish(resp).await)
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

impl Endpoint {
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Register a client (public when `auth_method` is "none").
    pub async fn register(&self, auth_method: &str) -> TestClient {
        let (status, c) = self.try_register(auth_method).await.unwrap();
        assert_eq!(status, 201);
        c.unwrap()
    }

    /// Register a client: the status, and the client when registered.
    pub async fn try_register(
        &self,
        auth_method: &str,
    ) -> reqwest::Result<(u16, Option<TestClient>)> {
        let redirect_uri = "http://127.0.0.1:9/callback".to_string();
        let resp = self
            .http
            .post(format!("{}/register", self.base()))
            .json(&json!({
                "client_name": "Test Client",
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": auth_method,
                "grant_types": ["authorization_code", "refresh_token"],
            }))
            .send()
            .await?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        let client = v["client_id"].as_str().map(|id| TestClient {
            client_id: id.into(),
            client_secret: v["client_secret"].as_str().map(str::to_string),
            redirect_uri,
        });
        Ok((status, client))
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
        match self.try_login(b, authorize_url, workspace).await {
            Ok(back) => back,
            Err((step, why)) => panic!("{step}: {why}"),
        }
    }

    /// As [`login`](Self::login); on failure, the step and what went wrong.
    pub async fn try_login(
        &self,
        b: &mut Browser,
        authorize_url: &str,
        workspace: Option<&str>,
    ) -> Result<String, (&'static str, String)> {
        let sent = |step: &'static str| move |e: reqwest::Error| (step, e.to_string());
        let mut page = b.try_get(authorize_url).await.map_err(sent("authorize"))?;
        if page.status == 200 {
            let request =
                form_field(&page.body, "request").ok_or(("consent", page.body.clone()))?;
            let csrf = form_field(&page.body, "csrf").ok_or(("consent", page.body.clone()))?;
            page = b
                .try_post_form(
                    &format!("{}/authorize/consent", self.base()),
                    &[
                        ("request", &request),
                        ("csrf", &csrf),
                        ("decision", "approve"),
                    ],
                )
                .await
                .map_err(sent("consent"))?;
        }
        let (303, Some(mut notion)) = (page.status, page.location) else {
            return Err(("to Notion", page.body));
        };
        if let Some(ws) = workspace {
            notion.push_str(&format!("&fake_workspace={}", urlencode(ws)));
        }
        let at_notion = b.try_get(&notion).await.map_err(sent("Notion"))?;
        let (302 | 303, Some(callback_url)) = (at_notion.status, at_notion.location) else {
            return Err(("Notion", at_notion.body));
        };
        let callback = b.try_get(&callback_url).await.map_err(sent("callback"))?;
        match (callback.status, callback.location) {
            (303, Some(back)) => Ok(back),
            _ => Err(("callback", callback.body)),
        }
    }

    /// POST /token with a form (client credentials added per the client's method).
    pub async fn token(&self, c: &TestClient, form: &[(&str, &str)]) -> (u16, Value) {
        self.try_token(c, form).await.unwrap()
    }

    /// As [`token`](Self::token); `Err` when no answer arrived.
    pub async fn try_token(
        &self,
        c: &TestClient,
        form: &[(&str, &str)],
    ) -> reqwest::Result<(u16, Value)> {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("client_id", &c.client_id));
        if let Some(s) = &c.client_secret {
            fields.push(("client_secret", s));
        }
        let resp = self
            .http
            .post(format!("{}/token", self.base()))
            .form(&fields)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.text().await?;
        Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
    }

    /// The code exchange of a login (`code`, `verifier` from it).
    pub async fn try_exchange(
        &self,
        c: &TestClient,
        code: &str,
        verifier: &str,
    ) -> reqwest::Result<(u16, Value)> {
        self.try_token(
            c,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &c.redirect_uri),
                ("code_verifier", verifier),
                ("resource", &self.resource),
            ],
        )
        .await
    }

    /// A refresh; `Err` when no answer arrived.
    pub async fn try_refresh(
        &self,
        c: &TestClient,
        refresh: &str,
    ) -> reqwest::Result<(u16, Value)> {
        self.try_token(
            c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("resource", &self.resource),
            ],
        )
        .await
    }

    /// Register, log in, exchange the code: (client, access, refresh).
    pub async fn connect(&self, workspace: Option<&str>) -> (TestClient, String, String) {
        match self.try_connect(workspace).await {
            Ok(c) => (c.client, c.access, c.refresh),
            Err(i) => panic!("login interrupted at {}", i.step),
        }
    }

    /// As [`connect`](Self::connect), reporting where a login stopped when the server went away or
    /// refused, and whether a code exchange was left without an answer.
    pub async fn try_connect(&self, workspace: Option<&str>) -> Result<Connected, Interrupted> {
        let stopped = |step| Interrupted {
            step,
            exchange_lost: None,
        };
        let c = match self.try_register("none").await {
            Ok((201, Some(c))) => c,
            _ => return Err(stopped("register")),
        };
        let (verifier, challenge) = pkce();
        let mut b = Browser::new();
        let back = self
            .try_login(&mut b, &self.authorize_url(&c, &challenge, "st"), workspace)
            .await
            .map_err(|(step, _)| stopped(step))?;
        let q = query(&back);
        assert_eq!(q.get("state").map(String::as_str), Some("st"));
        let Some(code) = q.get("code").cloned() else {
            return Err(stopped("callback error"));
        };
        let tokens = match self.try_exchange(&c, &code, &verifier).await {
            Ok((200, tokens)) => tokens,
            Ok(_) => return Err(stopped("code exchange refused")),
            Err(_) => {
                return Err(Interrupted {
                    step: "code exchange",
                    exchange_lost: Some((c, code, verifier)),
                });
            }
        };
        Ok(Connected {
            client: c,
            access: tokens["access_token"].as_str().unwrap().into(),
            refresh: tokens["refresh_token"].as_str().unwrap().into(),
        })
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
