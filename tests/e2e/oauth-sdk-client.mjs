#!/usr/bin/env node
// End-to-end OAuth check of a running `notion-mcp-remote demo --oauth` with the official MCP TypeScript SDK.
//
// Usage: node oauth-sdk-client.mjs <mcp-url> [--query WORDS] [--reuse-grace-secs N]
//
// --reuse-grace-secs: the server's refresh-token reuse grace (NOTION_MCP_REFRESH_REUSE_GRACE_SECS, default
// 10); the client waits it out to replay a retired refresh token as an attacker would.
//
// The SDK does everything a real client does: the first request gets 401 + WWW-Authenticate, it discovers
// the protected-resource and authorization-server metadata, registers dynamically (a public client,
// token_endpoint_auth_method "none"), and starts an authorization-code + PKCE flow. The provider's
// redirectToAuthorization() plays the browser: a cookie-keeping fetch loop that does not follow redirects by
// itself, approves the consent page (its form with the CSRF field, posted with the CSRF cookie), follows the
// fake Notion's auto-approval back through /oauth/callback and stops at the client's redirect_uri with the
// code. Then finishAuth(code), reconnect, tools/list, search; a refresh through the SDK's auth() (the refresh
// token must rotate and the new access token must work); a replay of a retired refresh token, refused within
// the reuse grace with the grant kept, and past the grace refused with the whole family revoked (RFC 9700
// §4.14.2); and finally, after a new authorization, revocation of the refresh token at /revoke, after which
// the old access token must get HTTP 401 on the MCP endpoint.
//
// Prints one line per check, never more than the first 12 characters of a token, and exits non-zero with a
// clear message on the first failure.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { createHash, randomBytes } from "node:crypto";

const REQUEST_TIMEOUT_MS = 20_000;
const HTTP_TIMEOUT_MS = 15_000;
const OVERALL_TIMEOUT_MS = 120_000;
const MAX_BROWSER_HOPS = 12;
// Never visited: the browser loop stops as soon as a Location starts with it.
const REDIRECT_URL = "http://127.0.0.1:9/oauth/callback";

function fail(msg) {
  console.error(`oauth-sdk-client: FAIL: ${msg}`);
  process.exit(1);
}

function ok(msg) {
  console.log(`oauth-sdk-client: ok   ${msg}`);
}

function check(cond, msg) {
  if (!cond) fail(msg);
}

/** At most the first 12 characters of a secret. */
function redact(s) {
  if (s === undefined || s === null) return String(s);
  const str = String(s);
  return str.length > 12 ? `${str.slice(0, 12)}…` : str;
}

/** A token as its first 12 characters and a short SHA-256 fingerprint, to tell tokens apart in the log. */
function tok(s) {
  if (!s) return String(s);
  return `${redact(s)}#${createHash("sha256").update(String(s)).digest("hex").slice(0, 6)}`;
}

/** A URL with the values of code, state and token-like query parameters cut to 12 characters. */
function redactUrl(u) {
  try {
    const url = new URL(u);
    for (const k of [...url.searchParams.keys()]) {
      if (/code|state|token|secret|request|csrf/i.test(k)) url.searchParams.set(k, redact(url.searchParams.get(k)));
    }
    return url.toString();
  } catch {
    return redact(u);
  }
}

function short(s, n = 300) {
  const one = String(s).replace(/\s+/g, " ");
  return one.length > n ? `${one.slice(0, n)}…` : one;
}

function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

function timed(init = {}) {
  return { ...init, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) };
}

function htmlUnescape(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_, d) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, "i"));
  return m ? htmlUnescape(m[1] ?? m[2] ?? m[3]) : undefined;
}

/** The first POST form of a consent page: its action and hidden fields. */
function parseConsentForm(html) {
  const form = html.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i);
  if (!form) return undefined;
  const open = form[0].match(/<form\b[^>]*>/i)[0];
  if ((attr(open, "method") ?? "get").toLowerCase() !== "post") return undefined;
  const fields = new URLSearchParams();
  for (const input of form[1].match(/<input\b[^>]*>/gi) ?? []) {
    const name = attr(input, "name");
    if (name && (attr(input, "type") ?? "text").toLowerCase() === "hidden") fields.append(name, attr(input, "value") ?? "");
  }
  return { action: attr(open, "action"), fields };
}

/**
 * A minimal browser: GET the authorization URL, approve the consent page, follow redirects by hand keeping
 * cookies (per host), and stop when a Location starts with the client's redirect URI. Returns its query.
 */
async function browse(authorizationUrl, redirectUri, trace) {
  const jar = new Map(); // host -> Map(name -> value)
  const cookieHeader = (url) => {
    const c = jar.get(url.hostname);
    return c && c.size ? [...c].map(([k, v]) => `${k}=${v}`).join("; ") : undefined;
  };
  const keepCookies = (url, res) => {
    for (const line of res.headers.getSetCookie?.() ?? []) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      if (!jar.has(url.hostname)) jar.set(url.hostname, new Map());
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0\b/i.test(line) || value === "") jar.get(url.hostname).delete(name);
      else jar.get(url.hostname).set(name, value);
    }
  };
  let url = new URL(authorizationUrl);
  let method = "GET";
  let body;
  let consented = false;
  for (let hop = 0; hop < MAX_BROWSER_HOPS; hop++) {
    if (url.href.startsWith(redirectUri)) {
      trace.push(`→ ${redactUrl(url.href)} (the client's redirect URI: stop)`);
      return { params: url.searchParams, consented };
    }
    const headers = { accept: "text/html,*/*" };
    const cookie = cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    if (body) headers["content-type"] = "application/x-www-form-urlencoded";
    let res;
    try {
      res = await fetch(url, timed({ method, headers, body, redirect: "manual" }));
    } catch (e) {
      throw new Error(`browser: ${method} ${redactUrl(url.href)} failed: ${e?.message ?? e}\n  ${trace.join("\n  ")}`);
    }
    keepCookies(url, res);
    trace.push(`${method} ${redactUrl(url.href)} → ${res.status}`);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url);
      method = "GET";
      body = undefined;
      continue;
    }
    const text = await res.text();
    if (res.status === 200 && !consented) {
      const form = parseConsentForm(text);
      if (form && form.action && form.fields.has("request") && form.fields.has("csrf")) {
        if (!cookieHeader(url)) throw new Error(`browser: the consent page set no cookie (expected nmr-csrf)\n  ${trace.join("\n  ")}`);
        form.fields.set("decision", "approve");
        url = new URL(form.action, url);
        method = "POST";
        body = form.fields.toString();
        consented = true;
        trace.push(`  consent form: POST ${form.action} with fields [${[...form.fields.keys()].join(", ")}] and cookies [${[...(jar.get(url.hostname)?.keys() ?? [])].join(", ")}]`);
        continue;
      }
    }
    throw new Error(`browser: ${method} ${redactUrl(url.href)} answered ${res.status} without a usable redirect or consent form: ${short(text, 400)}\n  ${trace.join("\n  ")}`);
  }
  throw new Error(`browser: more than ${MAX_BROWSER_HOPS} hops\n  ${trace.join("\n  ")}`);
}

/** An in-memory OAuthClientProvider whose "browser" is the loop above. */
class HeadlessProvider {
  constructor() {
    this._clientInformation = undefined;
    this._tokens = undefined;
    this._codeVerifier = undefined;
    this._discovery = undefined;
    this.pendingCode = undefined;
    this.callback = undefined;
    this.trace = [];
    this.authorizations = 0;
  }
  get redirectUrl() {
    return REDIRECT_URL;
  }
  state() {
    return randomBytes(16).toString("base64url");
  }
  get clientMetadata() {
    return {
      client_name: "notion-mcp-remote e2e (TypeScript SDK)",
      redirect_uris: [REDIRECT_URL],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this._clientInformation;
  }
  saveClientInformation(info) {
    this._clientInformation = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
  }
  saveCodeVerifier(v) {
    this._codeVerifier = v;
  }
  codeVerifier() {
    if (!this._codeVerifier) throw new Error("no code verifier saved");
    return this._codeVerifier;
  }
  saveDiscoveryState(s) {
    this._discovery = s;
  }
  discoveryState() {
    return this._discovery;
  }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizations += 1;
    const sent = new URL(authorizationUrl);
    this.trace = [];
    const { params, consented } = await browse(authorizationUrl.toString(), REDIRECT_URL, this.trace);
    if (params.get("error")) {
      throw new Error(`authorization failed: error=${params.get("error")} ${params.get("error_description") ?? ""}\n  ${this.trace.join("\n  ")}`);
    }
    const code = params.get("code");
    if (!code) throw new Error(`no code in the redirect back to the client\n  ${this.trace.join("\n  ")}`);
    if (!sent.searchParams.get("state") || params.get("state") !== sent.searchParams.get("state")) {
      throw new Error(`state mismatch: sent ${redact(sent.searchParams.get("state"))}, got ${redact(params.get("state"))}`);
    }
    this.pendingCode = code;
    this.callback = { consented, iss: params.get("iss"), sent };
  }
}

async function connect(url, provider) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  const client = new Client({ name: "notion-mcp-remote-e2e-oauth", version: "0.0.0" }, { capabilities: {} });
  await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
  return { client, transport };
}

async function searchOnce(client, query, label) {
  const res = await client.callTool({ name: "search", arguments: { query } }, undefined, { timeout: REQUEST_TIMEOUT_MS });
  const text = textOf(res);
  check(!res.isError, `${label}: search {query: "${query}"} returned isError: ${short(text)}`);
  check(text.toLowerCase().includes(query.toLowerCase()), `${label}: search result does not mention "${query}": ${short(text)}`);
  return text;
}

/** POST to the MCP endpoint with a bearer token, outside the SDK: returns {status, wwwAuthenticate, body}. */
async function rawMcp(url, accessToken) {
  const res = await fetch(
    url,
    timed({
      method: "POST",
      headers: {
        authorization: `Bearer ${accessToken}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "e2e-raw", version: "0" } },
      }),
    }),
  );
  return { status: res.status, wwwAuthenticate: res.headers.get("www-authenticate"), body: await res.text() };
}

async function main() {
  const argv = process.argv.slice(2);
  let url;
  let query = process.env.E2E_SEARCH_QUERY || "Handbook";
  let reuseGraceSecs = 10;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--query") query = argv[++i];
    else if (argv[i] === "--reuse-grace-secs") reuseGraceSecs = Number(argv[++i]);
    else if (!url) url = argv[i];
    else fail(`unexpected argument: ${argv[i]}`);
  }
  if (!url) fail("usage: node oauth-sdk-client.mjs <mcp-url> [--query WORDS] [--reuse-grace-secs N]");
  if (!Number.isInteger(reuseGraceSecs) || reuseGraceSecs < 0) fail(`--reuse-grace-secs: not a whole number of seconds`);
  const watchdog = setTimeout(() => fail(`overall timeout after ${OVERALL_TIMEOUT_MS / 1000}s`), OVERALL_TIMEOUT_MS);
  watchdog.unref();

  // 0. Without a token: 401 with the resource metadata in WWW-Authenticate.
  const anon = await fetch(url, timed({ method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" }));
  const anonChallenge = anon.headers.get("www-authenticate") ?? "";
  check(anon.status === 401, `unauthenticated POST ${url}: expected 401, got ${anon.status}: ${short(await anon.text())}`);
  check(/resource_metadata="[^"]+"/.test(anonChallenge), `401 without resource_metadata in WWW-Authenticate: ${anonChallenge}`);
  ok(`no token → 401, WWW-Authenticate: ${anonChallenge}`);

  // 1. Connect: the SDK discovers, registers, and calls redirectToAuthorization().
  const provider = new HeadlessProvider();
  let first;
  try {
    first = await connect(url, provider);
    fail("the first connect succeeded without authorization");
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) fail(`first connect: expected UnauthorizedError after the redirect, got: ${e?.stack ?? e}`);
  }
  check(first === undefined, "unreachable");
  const info = provider.clientInformation();
  check(info?.client_id, "the SDK did not register a client (no client information saved)");
  check(info.client_id.startsWith("nmr_client_"), `dynamically registered client_id does not start with nmr_client_: ${info.client_id}`);
  check(!info.client_secret, `a public client (token_endpoint_auth_method none) got a client_secret ${redact(info.client_secret)}`);
  ok(`dynamic registration: client_id ${info.client_id}, token_endpoint_auth_method ${info.token_endpoint_auth_method}, no secret`);
  const disc = provider.discoveryState();
  const asMeta = disc?.authorizationServerMetadata;
  check(asMeta?.revocation_endpoint, `authorization server metadata has no revocation_endpoint: ${short(JSON.stringify(asMeta ?? {}))}`);
  ok(`discovery: authorization server ${disc.authorizationServerUrl}, resource ${disc.resourceMetadata?.resource}`);

  check(provider.pendingCode, "redirectToAuthorization produced no code");
  const sent = provider.callback.sent.searchParams;
  check(sent.get("code_challenge_method") === "S256", `authorization request without PKCE S256: ${redactUrl(provider.callback.sent.href)}`);
  check(sent.get("resource") === disc.resourceMetadata?.resource, `authorization request resource ${sent.get("resource")} ≠ ${disc.resourceMetadata?.resource}`);
  check(provider.callback.consented, "the consent page was never shown");
  check(provider.callback.iss === asMeta.issuer, `redirect iss ${provider.callback.iss} ≠ issuer ${asMeta.issuer} (RFC 9207)`);
  ok(`browser: ${provider.trace.length} hops, consent approved, code ${tok(provider.pendingCode)}, state round-tripped, iss ${provider.callback.iss}`);
  for (const line of provider.trace) console.log(`oauth-sdk-client:        ${line}`);

  // 2. finishAuth(code) on a transport with the same provider, then reconnect.
  const finisher = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  try {
    await finisher.finishAuth(provider.pendingCode);
  } catch (e) {
    fail(`finishAuth (code → tokens at the token endpoint) failed: ${e?.message ?? e}`);
  }
  const t1 = provider.tokens();
  check(t1?.access_token?.startsWith("nmr_at_"), `access token does not look like nmr_at_…: ${redact(t1?.access_token)}`);
  check(t1.refresh_token, "no refresh token issued");
  check(String(t1.token_type).toLowerCase() === "bearer", `token_type ${t1.token_type}`);
  ok(`tokens: access ${tok(t1.access_token)} (expires_in ${t1.expires_in}s), refresh ${tok(t1.refresh_token)}, scope ${t1.scope}`);

  let session;
  try {
    session = await connect(url, provider);
  } catch (e) {
    fail(`reconnect with the access token failed: ${e?.message ?? e}`);
  }
  const { client } = session;
  check(provider.authorizations === 1, `the SDK ran ${provider.authorizations} authorizations (expected 1)`);
  const sv = client.getServerVersion();
  ok(`initialize with the bearer: server ${sv?.name} ${sv?.version}`);
  const { tools } = await client.listTools({}, { timeout: REQUEST_TIMEOUT_MS });
  check(tools.some((t) => t.name === "search"), `tools/list lacks search: ${tools.map((t) => t.name).join(", ")}`);
  ok(`tools/list: ${tools.length} tools`);
  const s1 = await searchOnce(client, query, "first token");
  ok(`search "${query}" with the first access token: ${s1.length} chars, mentions "${query}"`);

  // 3. Refresh through the SDK: auth() with a stored refresh token refreshes (no browser).
  let r;
  try {
    r = await auth(provider, { serverUrl: new URL(url) });
  } catch (e) {
    fail(`refresh via auth() failed: ${e?.message ?? e}`);
  }
  const t2 = provider.tokens();
  check(r === "AUTHORIZED", `auth() with a refresh token returned ${r} (expected AUTHORIZED without a redirect)`);
  check(provider.authorizations === 1, "the refresh went through the browser again");
  check(t2.access_token && t2.access_token !== t1.access_token, "the refresh did not return a new access token");
  check(t2.access_token.startsWith("nmr_at_"), `refreshed access token does not look like nmr_at_…: ${redact(t2.access_token)}`);
  check(t2.refresh_token && t2.refresh_token !== t1.refresh_token, "the refresh token did not rotate");
  ok(`refresh: access ${tok(t1.access_token)} → ${tok(t2.access_token)}, refresh token rotated ${tok(t1.refresh_token)} → ${tok(t2.refresh_token)}`);
  // The transport reads provider.tokens() per request: the same client now sends the new token.
  const s2 = await searchOnce(client, query, "refreshed token");
  ok(`search "${query}" with the refreshed access token: ${s2.length} chars`);
  // A second rotation retires t2 as well; t1 is two generations old.
  const second = await fetch(
    asMeta.token_endpoint,
    timed({
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: t2.refresh_token, client_id: info.client_id }).toString(),
    }),
  );
  const t3 = await second.json();
  check(second.status === 200 && t3.refresh_token && t3.refresh_token !== t2.refresh_token, `second refresh: expected 200 with a new refresh token, got ${second.status}`);
  provider.saveTokens(t3);
  ok(`second refresh: refresh token rotated ${tok(t2.refresh_token)} → ${tok(t3.refresh_token)}`);
  const refreshWith = (refreshToken) =>
    fetch(
      asMeta.token_endpoint,
      timed({
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: info.client_id }).toString(),
      }),
    );
  const current = await rawMcp(url, t3.access_token);
  check(current.status === 200, `the access token of the second refresh should work, got ${current.status}: ${short(current.body)}`);
  // Past the reuse grace, presenting a retired refresh token is a replay (a stolen token): it is refused and
  // the whole family is revoked (RFC 9700 §4.14.2), the current access and refresh tokens included.
  await new Promise((resolve) => setTimeout(resolve, (reuseGraceSecs + 1) * 1000));
  const replay = await refreshWith(t1.refresh_token);
  const replayBody = await replay.text();
  check(
    replay.status === 400 && /invalid_grant/.test(replayBody),
    `replaying a retired refresh token past the ${reuseGraceSecs}s grace: expected 400 invalid_grant, got ${replay.status}: ${short(replayBody)}`,
  );
  ok(`a retired refresh token replayed past the ${reuseGraceSecs}s grace is refused: ${replay.status} ${short(replayBody, 120)}`);
  const revokedAccess = await rawMcp(url, t3.access_token);
  check(revokedAccess.status === 401, `after the replay the family's current access token still gets ${revokedAccess.status} (expected 401: the family is revoked)`);
  const revokedRefresh = await refreshWith(t3.refresh_token);
  const revokedRefreshBody = await revokedRefresh.text();
  check(
    revokedRefresh.status === 400 && /invalid_grant/.test(revokedRefreshBody),
    `after the replay the family's current refresh token still gets ${revokedRefresh.status} (expected 400 invalid_grant): ${short(revokedRefreshBody)}`,
  );
  ok(`the replay revoked the family: its current access token → 401, its current refresh token → ${revokedRefresh.status}`);
  await client.close();

  // 4. Revoke at /revoke (RFC 7009): public client → token + client_id. Then the old access token gets 401.
  // A fresh authorization with the same registration first (the replay revoked the previous grant).
  provider.saveTokens(undefined);
  try {
    await connect(url, provider);
    fail("connect after a family revocation succeeded without a new authorization");
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) fail(`re-authorization: expected UnauthorizedError, got ${e?.message ?? e}`);
  }
  await new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }).finishAuth(provider.pendingCode);
  const live = provider.tokens();
  check(live.access_token !== t3.access_token, "re-authorization returned the old access token");
  ok(`re-authorized: access ${tok(live.access_token)}`);
  const before = await rawMcp(url, live.access_token);
  check(before.status === 200, `the access token should work before revocation, got ${before.status}: ${short(before.body)}`);
  const rev = await fetch(
    asMeta.revocation_endpoint,
    timed({
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: live.refresh_token, token_type_hint: "refresh_token", client_id: info.client_id }).toString(),
    }),
  );
  const revBody = await rev.text();
  check(rev.status === 200, `POST ${asMeta.revocation_endpoint} (refresh token, public client): expected 200, got ${rev.status}: ${short(revBody)}`);
  ok(`revoke refresh token ${tok(live.refresh_token)} → ${rev.status}`);
  const dead = await rawMcp(url, live.access_token);
  check(
    dead.status === 401,
    `after revoking the refresh token the access token ${redact(live.access_token)} still gets ${dead.status} (expected 401): ${short(dead.body)}`,
  );
  check(/resource_metadata=/.test(dead.wwwAuthenticate ?? ""), `401 after revocation without resource_metadata: ${dead.wwwAuthenticate}`);
  ok(`old access token after revocation → 401, WWW-Authenticate: ${dead.wwwAuthenticate}`);
  const deadRefresh = await fetch(
    asMeta.token_endpoint,
    timed({
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: live.refresh_token, client_id: info.client_id }).toString(),
    }),
  );
  const deadRefreshBody = await deadRefresh.text();
  check(deadRefresh.status === 400, `the revoked refresh token still refreshes: ${deadRefresh.status}: ${short(deadRefreshBody)}`);
  ok(`revoked refresh token → ${deadRefresh.status} ${short(deadRefreshBody, 120)}`);

  clearTimeout(watchdog);
  console.log("oauth-sdk-client: all checks passed");
}

main().catch((e) => fail(e?.stack ?? String(e)));
