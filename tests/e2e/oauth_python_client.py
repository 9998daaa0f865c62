#!/usr/bin/env python3
"""End-to-end OAuth check of a running `notion-mcp-remote demo --oauth` with the official Python MCP SDK.

Usage: python oauth_python_client.py <mcp-url> [--query WORDS]

The SDK's `mcp.client.auth.OAuthClientProvider` (an httpx2 auth flow) does what a real client does: the
first request gets 401 + WWW-Authenticate, it discovers the protected-resource and authorization-server
metadata, registers dynamically as a *confidential* client (token_endpoint_auth_method client_secret_post,
so the server must mint a client_secret and the SDK must send it on every token request), and runs an
authorization-code + PKCE flow. The redirect handler plays the browser: an httpx2 client with a cookie jar
that does not follow redirects by itself, approves the consent page (its form with the CSRF field, posted
with the CSRF cookie), follows the fake Notion's auto-approval back through /oauth/callback and stops at the
client's redirect_uri. The callback handler hands code, state and iss (RFC 9207) back to the SDK.

Then: tools/list and search; the stored access token is marked expired so the SDK refreshes by itself on the
next request (the access token must change and the refresh token rotate); a wrongly authenticated
revocation must revoke nothing; the refresh token is revoked at /revoke with the client's secret, after
which the old access token must get HTTP 401 on the MCP endpoint.

Prints one line per check, never more than the first 12 characters of a token, and exits non-zero with a
clear message on the first failure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

try:
    _GROUP = BaseExceptionGroup
except NameError:  # Python 3.10: anyio depends on the backport
    from exceptiongroup import BaseExceptionGroup as _GROUP

HTTP_TIMEOUT = 15.0
OVERALL_TIMEOUT = 120.0
MAX_BROWSER_HOPS = 12
# Never visited: the browser loop stops as soon as a Location starts with it.
REDIRECT_URI = "http://127.0.0.1:9/callback"
PREFIX = "oauth-python-client:"


class CheckFailed(Exception):
    pass


def ok(msg: str) -> None:
    print(f"{PREFIX} ok   {msg}", flush=True)


def check(cond: object, msg: str) -> None:
    if not cond:
        raise CheckFailed(msg)


def redact(s: object) -> str:
    """At most the first 12 characters of a secret."""
    if s is None:
        return "None"
    s = str(s)
    return s[:12] + "…" if len(s) > 12 else s


def tok(s: str | None) -> str:
    """A token as its first 12 characters and a short SHA-256 fingerprint, to tell tokens apart in the log."""
    if not s:
        return str(s)
    return f"{redact(s)}#{hashlib.sha256(s.encode()).hexdigest()[:6]}"


def redact_url(u: str) -> str:
    parts = urlsplit(u)
    if not parts.query:
        return u
    q = []
    for k, vs in parse_qs(parts.query, keep_blank_values=True).items():
        for v in vs:
            secret = any(w in k.lower() for w in ("code", "state", "token", "secret", "request", "csrf"))
            q.append(f"{k}={redact(v) if secret else v}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{'&'.join(q)}"


def short(s: object, n: int = 300) -> str:
    one = " ".join(str(s).split())
    return one[:n] + "…" if len(one) > n else one


class MemoryStorage(TokenStorage):
    """In-memory TokenStorage that also keeps the history of stored tokens."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.history: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class ConsentForm(HTMLParser):
    """The first POST form of a page: its action and hidden inputs (values HTML-unescaped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.method: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and self.action is None:
            self._in_form = True
            self.action = a.get("action")
            self.method = a.get("method", "get").lower()
        elif tag == "input" and self._in_form and a.get("type", "text").lower() == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


class HeadlessBrowser:
    """redirect_handler + callback_handler for OAuthClientProvider: a cookie-keeping, manual-redirect loop."""

    def __init__(self) -> None:
        self.result: AuthorizationCodeResult | None = None
        self.trace: list[str] = []
        self.authorizations = 0
        self.consented = False
        self.sent_url: str | None = None

    def _fail(self, msg: str) -> CheckFailed:
        return CheckFailed(msg + "\n  " + "\n  ".join(self.trace))

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorizations += 1
        self.result = None
        self.trace = []
        self.consented = False
        self.sent_url = authorization_url
        url, method, data = authorization_url, "GET", None
        async with httpx2.AsyncClient(follow_redirects=False, timeout=HTTP_TIMEOUT) as browser:
            for _ in range(MAX_BROWSER_HOPS):
                if url.startswith(REDIRECT_URI):
                    self.trace.append(f"→ {redact_url(url)} (the client's redirect URI: stop)")
                    q = parse_qs(urlsplit(url).query)
                    if "error" in q:
                        raise self._fail(f"authorization failed: error={q['error'][0]} {q.get('error_description', [''])[0]}")
                    if "code" not in q:
                        raise self._fail("no code in the redirect back to the client")
                    self.result = AuthorizationCodeResult(
                        code=q["code"][0], state=q.get("state", [None])[0], iss=q.get("iss", [None])[0]
                    )
                    return
                try:
                    res = await browser.request(method, url, data=data, headers={"accept": "text/html,*/*"})
                except httpx2.HTTPError as e:
                    raise self._fail(f"browser: {method} {redact_url(url)} failed: {e!r}") from e
                self.trace.append(f"{method} {redact_url(url)} → {res.status_code}")
                location = res.headers.get("location")
                if 300 <= res.status_code < 400 and location:
                    url, method, data = urljoin(url, location), "GET", None
                    continue
                text = res.text
                if res.status_code == 200 and not self.consented:
                    form = ConsentForm()
                    form.feed(text)
                    if form.method == "post" and form.action and "request" in form.fields and "csrf" in form.fields:
                        cookies = sorted({c.name for c in browser.cookies.jar})
                        check(cookies, "browser: the consent page set no cookie (expected nmr-csrf)")
                        data = dict(form.fields, decision="approve")
                        url, method = urljoin(url, form.action), "POST"
                        self.consented = True
                        self.trace.append(
                            f"  consent form: POST {form.action} with fields {sorted(data)} and cookies {cookies}"
                        )
                        continue
                raise self._fail(
                    f"browser: {method} {redact_url(url)} answered {res.status_code} without a usable redirect "
                    f"or consent form: {short(text, 400)}"
                )
        raise self._fail(f"browser: more than {MAX_BROWSER_HOPS} hops")

    async def callback_handler(self) -> AuthorizationCodeResult:
        if self.result is None:
            raise self._fail("callback_handler called without a captured code")
        return self.result


async def raw_mcp(http: httpx2.AsyncClient, url: str, access_token: str) -> httpx2.Response:
    """An initialize POST with a bearer token, outside the SDK's auth flow."""
    return await http.post(
        url,
        headers={
            "authorization": f"Bearer {access_token}",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2025-06-18",
        },
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "e2e-raw", "version": "0"},
            },
        },
    )


def text_of(result) -> str:
    return "\n".join(c.text for c in (result.content or []) if getattr(c, "type", None) == "text")


async def search(client: Client, query: str, label: str) -> str:
    res = await client.call_tool("search", {"query": query})
    text = text_of(res)
    check(not res.is_error, f'{label}: search {{query: "{query}"}} returned isError: {short(text)}')
    check(query.lower() in text.lower(), f'{label}: search result does not mention "{query}": {short(text)}')
    return text


async def run(url: str, query: str) -> None:
    import mcp  # noqa: F401  (version line)
    from importlib.metadata import version

    ok(f"mcp {version('mcp')}, httpx2 {version('httpx2')}, Python {sys.version.split()[0]}")
    storage = MemoryStorage()
    browser = HeadlessBrowser()
    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="notion-mcp-remote e2e (Python SDK)",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="client_secret_post",
        ),
        storage=storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
    )

    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as raw:
        anon = await raw.post(url, json={}, headers={"accept": "application/json, text/event-stream"})
        challenge = anon.headers.get("www-authenticate", "")
        check(anon.status_code == 401, f"unauthenticated POST {url}: expected 401, got {anon.status_code}: {short(anon.text)}")
        check('resource_metadata="' in challenge, f"401 without resource_metadata in WWW-Authenticate: {challenge}")
        ok(f"no token → 401, WWW-Authenticate: {challenge}")

        async with httpx2.AsyncClient(auth=provider, timeout=HTTP_TIMEOUT) as http:
            async with Client(
                streamable_http_client(url, http_client=http), read_timeout_seconds=20
            ) as client:
                info = storage.client_info
                check(info and info.client_id, "the SDK did not register a client")
                check(
                    info.client_id.startswith("nmr_client_"),
                    f"dynamically registered client_id does not start with nmr_client_: {info.client_id}",
                )
                check(
                    info.token_endpoint_auth_method == "client_secret_post",
                    f"registered with token_endpoint_auth_method {info.token_endpoint_auth_method} (asked for client_secret_post)",
                )
                check(info.client_secret, "a confidential client (client_secret_post) got no client_secret")
                ok(
                    f"dynamic registration: client_id {info.client_id}, client_secret_post, secret {tok(info.client_secret)}"
                )
                check(browser.authorizations == 1, f"{browser.authorizations} authorizations (expected 1)")
                check(browser.consented, "the consent page was never shown")
                sent = parse_qs(urlsplit(browser.sent_url or "").query)
                check(sent.get("code_challenge_method") == ["S256"], "authorization request without PKCE S256")
                check(sent.get("resource") == [url], f"authorization request resource {sent.get('resource')} ≠ {url}")
                issuer = str(provider.context.oauth_metadata.issuer).rstrip("/")
                check(
                    browser.result.iss and browser.result.iss.rstrip("/") == issuer,
                    f"redirect iss {browser.result.iss} ≠ issuer {issuer} (RFC 9207)",
                )
                ok(
                    f"browser: {len(browser.trace)} hops, consent approved, code {tok(browser.result.code)}, "
                    f"iss {browser.result.iss}"
                )
                for line in browser.trace:
                    print(f"{PREFIX}        {line}")
                t1 = storage.tokens
                check(t1 and t1.access_token.startswith("nmr_at_"), f"access token does not look like nmr_at_…: {redact(t1 and t1.access_token)}")
                check(t1.refresh_token, "no refresh token issued")
                ok(f"tokens: access {tok(t1.access_token)} (expires_in {t1.expires_in}s), refresh {tok(t1.refresh_token)}, scope {t1.scope}")
                sv = client.server_info
                ok(f"connected ({client.protocol_version}): server {sv.name if sv else '?'} {sv.version if sv else ''}")

                tools = (await client.list_tools()).tools
                names = [t.name for t in tools]
                check("search" in names, f"tools/list lacks search: {', '.join(names)}")
                ok(f"tools/list: {len(tools)} tools")
                s1 = await search(client, query, "first token")
                ok(f'search "{query}" with the first access token: {len(s1)} chars, mentions "{query}"')

                # Refresh: mark the access token expired; the SDK refreshes before the next request.
                n_before = len(storage.history)
                provider.context.token_expiry_time = time.time() - 1
                s2 = await search(client, query, "refreshed token")
                t2 = storage.tokens
                check(len(storage.history) == n_before + 1, f"expected exactly one token refresh, saw {len(storage.history) - n_before}")
                check(browser.authorizations == 1, "the refresh went through the browser again")
                check(t2.access_token != t1.access_token, "the access token did not change on refresh")
                check(t2.access_token.startswith("nmr_at_"), f"refreshed access token does not look like nmr_at_…: {redact(t2.access_token)}")
                check(t2.refresh_token and t2.refresh_token != t1.refresh_token, "the refresh token did not rotate")
                ok(
                    f"refresh by the SDK (token marked expired): access {tok(t1.access_token)} → {tok(t2.access_token)}, "
                    f"refresh token rotated {tok(t1.refresh_token)} → {tok(t2.refresh_token)}"
                )
                ok(f'search "{query}" with the refreshed access token: {len(s2)} chars')

        meta = provider.context.oauth_metadata
        revoke_url = str(meta.revocation_endpoint or "")
        check(revoke_url, "authorization server metadata has no revocation_endpoint")
        before = await raw_mcp(raw, url, t2.access_token)
        check(before.status_code == 200, f"the access token should work before revocation, got {before.status_code}: {short(before.text)}")

        # A confidential client's revocation with a wrong secret must revoke nothing (RFC 7009 §2.1).
        wrong = await raw.post(
            revoke_url,
            data={"token": t2.refresh_token, "token_type_hint": "refresh_token", "client_id": info.client_id, "client_secret": "wrong-secret"},
        )
        still = await raw_mcp(raw, url, t2.access_token)
        check(wrong.status_code in (400, 401), f"revocation with a wrong client_secret: expected 401 invalid_client, got {wrong.status_code}: {short(wrong.text)}")
        check(still.status_code == 200, f"revocation with a wrong client_secret revoked the grant (access token now {still.status_code})")
        ok(f"revocation with a wrong client_secret → {wrong.status_code} {short(wrong.text, 120)}; the grant still works")

        rev = await raw.post(
            revoke_url,
            data={
                "token": t2.refresh_token,
                "token_type_hint": "refresh_token",
                "client_id": info.client_id,
                "client_secret": info.client_secret,
            },
        )
        check(rev.status_code == 200, f"POST {revoke_url} (refresh token, client_secret_post): expected 200, got {rev.status_code}: {short(rev.text)}")
        ok(f"revoke refresh token {tok(t2.refresh_token)} with client_secret_post → {rev.status_code}")
        dead = await raw_mcp(raw, url, t2.access_token)
        check(
            dead.status_code == 401,
            f"after revoking the refresh token the access token {redact(t2.access_token)} still gets {dead.status_code} (expected 401): {short(dead.text)}",
        )
        www = dead.headers.get("www-authenticate", "")
        check("resource_metadata=" in www, f"401 after revocation without resource_metadata: {www}")
        ok(f"old access token after revocation → 401, WWW-Authenticate: {www}")
        again = await raw.post(
            str(meta.token_endpoint),
            data={
                "grant_type": "refresh_token",
                "refresh_token": t2.refresh_token,
                "client_id": info.client_id,
                "client_secret": info.client_secret,
            },
        )
        check(again.status_code == 400, f"the revoked refresh token still refreshes: {again.status_code}: {short(again.text)}")
        ok(f"revoked refresh token → {again.status_code} {short(again.text, 120)}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--query", default=os.environ.get("E2E_SEARCH_QUERY") or "Handbook")
    args = p.parse_args()

    async def bounded() -> None:
        with anyio.fail_after(OVERALL_TIMEOUT):
            await run(args.url, args.query)

    try:
        anyio.run(bounded)
    except CheckFailed as e:
        print(f"{PREFIX} FAIL: {e}", file=sys.stderr, flush=True)
        return 1
    except TimeoutError:
        print(f"{PREFIX} FAIL: overall timeout after {OVERALL_TIMEOUT:.0f}s", file=sys.stderr, flush=True)
        return 1
    except BaseException as e:  # noqa: BLE001  (report SDK errors, also from exception groups, as a failure)
        leaves = [e]
        while leaves and isinstance(leaves[0], _GROUP):
            leaves = list(leaves[0].exceptions) + leaves[1:]
        first = leaves[0] if leaves else e
        if isinstance(first, CheckFailed):
            print(f"{PREFIX} FAIL: {first}", file=sys.stderr, flush=True)
        else:
            import traceback

            traceback.print_exception(first, file=sys.stderr)
            print(f"{PREFIX} FAIL: {type(first).__name__}: {short(first, 600)}", file=sys.stderr, flush=True)
        return 1
    print(f"{PREFIX} all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
