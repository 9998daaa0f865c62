#!/usr/bin/env python3
"""The consent page in a real browser: headless Chromium driven over WebDriver (chromedriver), offline.

Usage: python3 tests/browser/consent_browser.py [--bin PATH] [--out DIR] [--screenshots DIR]

Starts `notion-mcp-remote demo --oauth` (the embedded fake Notion shows its sign-in page with a page picker)
and a loopback HTTP listener standing in for native apps' redirect URIs, then, in Chromium:

1. "Acme Notes", registered by DCR with a long loopback redirect URI: the page names this server's host,
   shows the redirect URI in full (wrapped inside the page, not cut), marks the name as self-declared and
   notes the loopback redirect, with no warning and "Continue to Notion" first. Allow → the fake Notion's
   sign-in page (the user named, every page checkbox labelled, Allow first) → Allow access → /oauth/callback → the listener receives code, state and iss; the code is exchanged at /token (PKCE).
2. "Claude" with a loopback redirect: the warning (Claude redirects to its own sites, not to a program on
   this computer), Cancel as the first button; "Continue anyway" still completes the login.
3. "Claude" with a redirect on another website: the warning names that host (the page is not submitted).

No browser console message may be a Content-Security-Policy violation. Screenshots of the three pages
go to --screenshots (default: --out). Only Python's standard library is used: WebDriver is plain HTTP.

When chromium or chromedriver is missing it prints SKIP and exits 0, unless CI is set (then exit 1):
.ci/run installs both from Debian (`apt-get install chromium chromium-driver`). Everything runs on
loopback; other host names do not resolve in the browser. Exits non-zero on the first failed check.

Environment: NOTION_MCP_BIN (the server, default target/debug/notion-mcp-remote), CHROMIUM,
CHROMEDRIVER (paths, default from PATH), CI.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OVERALL_TIMEOUT = 90  # seconds; a normal run takes well under 30
HTTP_TIMEOUT = 20
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
PREFIX = "consent-browser:"


class CheckFailed(Exception):
    pass


def ok(msg: str) -> None:
    print(f"{PREFIX} ok   {msg}", flush=True)


def check(cond: object, msg: str) -> None:
    if not cond:
        raise CheckFailed(msg)


def redact(s: str) -> str:
    return s[:12] + "…" if len(s) > 12 else s


def ci() -> bool:
    v = os.environ.get("CI", "")
    return v not in ("", "false", "0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method: str, url: str, body: object = None, form: dict | None = None) -> tuple[int, object]:
    """A JSON (or form) request; returns the status and the decoded JSON answer (or text)."""
    data, headers = None, {}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


class Redirects(http.server.ThreadingHTTPServer):
    """The loopback listener the redirect URIs point at; keeps the query of every request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RedirectHandler)
        self.received: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()

    def port(self) -> int:
        return self.server_address[1]


class RedirectHandler(http.server.BaseHTTPRequestHandler):
    server: Redirects

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        with self.server.lock:
            self.server.received.append((u.path, q))
        page = b"<!doctype html><title>Done</title><p>Signed in. You can close this tab.</p>"
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: object) -> None:
        pass


class WebDriver:
    """The few WebDriver commands this test needs, over chromedriver's HTTP endpoint."""

    def __init__(self, base: str, chromium: str, profile: str) -> None:
        self.base = base
        args = [
            "--headless=new",
            # Often run as root in CI containers, where Chromium's sandbox cannot start; the only page
            # loaded is this server's own.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--force-device-scale-factor=1",
            "--lang=en-US",
            "--window-size=760,1000",
            f"--user-data-dir={profile}",
            # Offline: only loopback names resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        ]
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        status, r = call("POST", f"{base}/session", {"capabilities": {"alwaysMatch": caps}})
        check(status == 200, f"chromedriver did not start a session: {status} {str(r)[:500]}")
        self.session = f"{base}/session/{r['value']['sessionId']}"
        ok(f"Chromium {r['value']['capabilities'].get('browserVersion')} started headless")

    def cmd(self, method: str, path: str, body: object = None) -> object:
        if method == "POST" and body is None:
            body = {}
        status, r = call(method, f"{self.session}{path}", body)
        check(status == 200, f"WebDriver {method} {path}: {status} {str(r)[:500]}")
        return r["value"] if isinstance(r, dict) else r

    def get(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    def url(self) -> str:
        return str(self.cmd("GET", "/url"))

    def find(self, css: str) -> str | None:
        status, r = call("POST", f"{self.session}/elements", {"using": "css selector", "value": css})
        check(status == 200, f"WebDriver find {css}: {status} {str(r)[:300]}")
        found = r["value"] if isinstance(r, dict) else []
        return found[0][ELEMENT] if found else None

    def text(self, css: str) -> str | None:
        el = self.find(css)
        return None if el is None else str(self.cmd("GET", f"/element/{el}/text"))

    def click(self, css: str) -> None:
        el = self.find(css)
        check(el is not None, f"no element {css} to click")
        self.cmd("POST", f"/element/{el}/click")

    def script(self, source: str) -> object:
        return self.cmd("POST", "/execute/sync", {"script": source, "args": []})

    def screenshot(self, path: Path) -> None:
        """The whole page (Chrome DevTools' Page.captureScreenshot through chromedriver), not only the window."""
        metrics = self.cmd("POST", "/goog/cdp/execute", {"cmd": "Page.getLayoutMetrics", "params": {}})
        size = metrics["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        params = {"format": "png", "captureBeyondViewport": True, "clip": clip}
        shot = self.cmd("POST", "/goog/cdp/execute", {"cmd": "Page.captureScreenshot", "params": params})
        png = base64.b64decode(shot["data"])
        path.write_bytes(png)
        ok(f"screenshot {path} ({len(png)} bytes)")

    def console(self) -> list[dict]:
        status, r = call("POST", f"{self.session}/se/log", {"type": "browser"})
        return r["value"] if status == 200 and isinstance(r, dict) else []

    def quit(self) -> None:
        try:
            call("DELETE", self.session)
        except OSError:
            pass


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with open(log, "wb") as f:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=env)


def wait_ready(url: str, proc: subprocess.Popen, what: str, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CheckFailed(f"{what} exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise CheckFailed(f"{what} did not answer {url} within {timeout:.0f}s")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Flow:
    """The server under test and what a client needs to talk to it."""

    def __init__(self, base: str) -> None:
        self.base = base
        status, meta = call("GET", f"{base}/.well-known/oauth-authorization-server")
        check(status == 200 and isinstance(meta, dict), f"authorization server metadata: {status}")
        self.issuer = meta["issuer"]
        status, prm = call("GET", f"{base}/.well-known/oauth-protected-resource")
        check(status == 200 and isinstance(prm, dict), f"protected resource metadata: {status}")
        self.resource = prm["resource"]

    def register(self, name: str, redirect_uri: str) -> str:
        status, r = call(
            "POST",
            f"{self.base}/register",
            {
                "client_name": name,
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            },
        )
        check(status == 201 and isinstance(r, dict), f"registration of {name!r}: {status} {str(r)[:300]}")
        ok(f"registered {name!r} by DCR with redirect {redirect_uri}")
        return r["client_id"]

    def authorize_url(self, client_id: str, redirect_uri: str, state: str, challenge: str) -> str:
        q = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": self.resource,
            }
        )
        return f"{self.base}/authorize?{q}"


def no_csp_violations(browser: WebDriver, page: str) -> None:
    refused = [
        m.get("message", "")
        for m in browser.console()
        if m.get("source") == "security" or "Content Security Policy" in m.get("message", "")
    ]
    check(not refused, f"{page}: the browser reported CSP violations: {refused}")


def consent_common(browser: WebDriver, flow: Flow, name: str, redirect_uri: str) -> None:
    """What every consent page must show, checked in the rendered page."""
    host = urllib.parse.urlsplit(flow.issuer).netloc
    summary = browser.text("#summary") or ""
    check(
        summary == f"You are about to let {name} access your Notion through {host}.",
        f"summary line: {summary!r}",
    )
    who = browser.text("#client-name") or ""
    check(f"calls itself “{name}”" in who and "self-declared, not verified" in who, f"client name: {who!r}")
    shown = browser.text("#redirect-uri") or ""
    check(shown == redirect_uri, f"redirect URI shown as {shown!r}, expected {redirect_uri!r}")
    # Wrapped inside its box: nothing hidden beyond the right edge.
    widths = browser.script(
        "const e = document.getElementById('redirect-uri');"
        "return [e.scrollWidth, e.clientWidth, e.getBoundingClientRect().right,"
        " document.documentElement.clientWidth]"
    )
    check(
        isinstance(widths, list) and widths[0] <= widths[1] and widths[2] <= widths[3],
        f"the redirect URI overflows its box: {widths}",
    )
    ok(f"{name!r}: server host {host}, full redirect URI ({len(shown)} chars, fits), self-declared name")


def sign_in_at_fake_notion(browser: WebDriver, shot: Path | None) -> None:
    """After Allow on the consent page: the fake Notion's sign-in page; Allow access with its defaults."""
    deadline = time.monotonic() + 15
    while "/v1/oauth/authorize" not in browser.url() and time.monotonic() < deadline:
        time.sleep(0.1)
    check("/v1/oauth/authorize" in browser.url(), f"not at the fake Notion's sign-in page: {browser.url()}")
    heading = browser.text("h1") or ""
    check(heading.startswith("Sign in as Alice Anders"), f"sign-in heading: {heading!r}")
    unlabelled = browser.script(
        "return [...document.querySelectorAll('input[type=checkbox]')]"
        ".filter(i => i.labels.length !== 1 || !i.labels[0].textContent.trim()).length"
    )
    boxes = browser.script("return document.querySelectorAll('input[type=checkbox]').length")
    check(boxes and unlabelled == 0, f"{unlabelled} of {boxes} page checkboxes without a label")
    check(browser.text("form button") == "Allow access", "Allow access is not the first button")
    no_csp_violations(browser, "fake Notion sign-in page")
    if shot is not None:
        browser.screenshot(shot)
    ok(f"fake Notion sign-in page: {heading!r}, {boxes} labelled page checkboxes")
    browser.click("button[value=allow]")


def follow_to_redirect(browser: WebDriver, listener: Redirects, path: str, state: str, flow: Flow) -> str:
    """After Allow: the browser ends at the loopback listener, which got code, state and iss."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with listener.lock:
            hits = [q for p, q in listener.received if p == path]
        if hits:
            break
        time.sleep(0.1)
    else:
        raise CheckFailed(f"the redirect never reached the listener; the browser is at {browser.url()}")
    q = hits[-1]
    check("error" not in q, f"the client got an error: {q.get('error')}: {q.get('error_description')}")
    check(q.get("code"), f"no code in the redirect: {sorted(q)}")
    check(q.get("state") == state, "state does not round-trip")
    check(q.get("iss") == flow.issuer, f"iss {q.get('iss')!r} ≠ issuer {flow.issuer!r}")
    at = browser.url()
    check(at.startswith(f"http://127.0.0.1:{listener.port()}{path}"), f"browser ended at {at}")
    ok(f"Allow → fake Notion sign-in → callback → {path}: code {redact(q['code'])}, state and iss match")
    return q["code"]


def run(args: argparse.Namespace, chromium: str, chromedriver: str, bin_path: Path) -> None:
    out = Path(args.out)
    shots = Path(args.screenshots) if args.screenshots else out
    out.mkdir(parents=True, exist_ok=True)
    shots.mkdir(parents=True, exist_ok=True)
    server = driver = browser = None
    listener = Redirects()
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    try:
        dport = free_port()
        driver = start([chromedriver, f"--port={dport}", "--log-level=WARNING"], out / "chromedriver.log")
        env = dict(os.environ, NOTION_MCP_LOG="warn", NOTION_MCP_LOG_FORMAT="json")
        log = out / "server.log"
        for attempt in (1, 2, 3):
            port = free_port()
            server = start([str(bin_path), "demo", "--oauth", "--listen", f"127.0.0.1:{port}"], log, env)
            try:
                wait_ready(f"http://127.0.0.1:{port}/healthz", server, "notion-mcp-remote demo --oauth", log)
                break
            except CheckFailed:
                stop(server)
                # A lost race for the port is worth another try; anything else is not.
                if attempt == 3 or "in use" not in log.read_text(errors="replace"):
                    raise
        base = f"http://localhost:{port}"
        ok(f"demo --oauth on {base}")
        flow = Flow(base)
        wait_ready(f"http://127.0.0.1:{dport}/status", driver, "chromedriver", out / "chromedriver.log")
        profile = tempfile.mkdtemp(prefix="consent-browser-", dir=out)
        browser = WebDriver(f"http://127.0.0.1:{dport}", chromium, profile)
        lp = listener.port()

        # 1. An ordinary native client: no warning, the loopback note; approve and exchange the code.
        redirect = f"http://127.0.0.1:{lp}/callback/acme-notes/desktop/oauth2/{'x' * 24}/finish-sign-in-{'y' * 40}"
        client = flow.register("Acme Notes", redirect)
        verifier, challenge = pkce()
        state = secrets.token_urlsafe(16)
        browser.get(flow.authorize_url(client, redirect, state, challenge))
        consent_common(browser, flow, "Acme Notes", redirect)
        check(browser.find("#warnings") is None, "a warning for an ordinary client")
        note = browser.text("#loopback-note") or ""
        check("on your own computer" in note, f"loopback note: {note!r}")
        first = browser.text("form button") or ""
        check(first == "Continue to Notion", f"first button: {first!r}")
        no_csp_violations(browser, "consent page")
        ok("'Acme Notes': no warning, loopback note, 'Continue to Notion' first")
        browser.screenshot(shots / "consent-normal.png")
        browser.click("button[value=approve]")
        sign_in_at_fake_notion(browser, shots / "fake-notion-sign-in.png")
        code = follow_to_redirect(browser, listener, urllib.parse.urlsplit(redirect).path, state, flow)
        status, tok = call(
            "POST",
            f"{base}/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": client,
                "code_verifier": verifier,
                "resource": flow.resource,
            },
        )
        check(status == 200 and isinstance(tok, dict), f"/token: {status} {str(tok)[:300]}")
        check(str(tok.get("access_token", "")).startswith("nmr_at_"), "no access token from /token")
        ok(f"/token exchanged the code: access token {redact(tok['access_token'])}")

        # 2. "Claude" redirecting to loopback: warned, Cancel first, "Continue anyway" still works.
        redirect = f"http://127.0.0.1:{lp}/claude/callback"
        client = flow.register("Claude", redirect)
        verifier, challenge = pkce()
        state = secrets.token_urlsafe(16)
        browser.get(flow.authorize_url(client, redirect, state, challenge))
        consent_common(browser, flow, "Claude", redirect)
        warning = browser.text("#warnings") or ""
        check("may not be who it says it is" in warning, f"warning heading: {warning!r}")
        check(
            "program on this computer (127.0.0.1), not to a site of Claude (claude.ai, claude.com or anthropic.com)"
            in warning,
            f"warning text: {warning!r}",
        )
        check(browser.text("form button") == "Cancel", "Cancel is not the first button")
        no_csp_violations(browser, "consent page with a warning")
        ok("'Claude' on loopback: warning shown, Cancel first")
        browser.screenshot(shots / "consent-warning-loopback.png")
        browser.click("button[value=approve]")
        sign_in_at_fake_notion(browser, None)
        follow_to_redirect(browser, listener, "/claude/callback", state, flow)

        # 3. "Claude" redirecting to another website (never resolved here): the warning names it.
        redirect = "https://claude-mcp-connect.example.net/api/mcp/auth_callback"
        client = flow.register("Claude", redirect)
        _, challenge = pkce()
        browser.get(flow.authorize_url(client, redirect, secrets.token_urlsafe(16), challenge))
        consent_common(browser, flow, "Claude", redirect)
        warning = browser.text("#warnings") or ""
        check(
            "the code goes to claude-mcp-connect.example.net, which is not a site of Claude" in warning,
            f"warning text: {warning!r}",
        )
        check(browser.find("#loopback-note") is None, "a loopback note for a web redirect")
        no_csp_violations(browser, "consent page with a warning")
        ok("'Claude' on another website: the warning names its host")
        browser.screenshot(shots / "consent-warning.png")
    finally:
        if browser is not None:
            browser.quit()
        stop(driver)
        stop(server)
        listener.shutdown()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=os.environ.get("NOTION_MCP_BIN", "target/debug/notion-mcp-remote"))
    p.add_argument("--out", default=str(REPO_ROOT / "target" / "consent-browser"), help="logs and screenshots")
    p.add_argument("--screenshots", help="where the screenshots go (docs/img to refresh the docs)")
    args = p.parse_args()
    chromium = os.environ.get("CHROMIUM") or next(
        (x for x in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if x), None
    )
    chromedriver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not chromedriver:
        missing = " and ".join(n for n, v in (("chromium", chromium), ("chromedriver", chromedriver)) if not v)
        how = "install them: apt-get install chromium chromium-driver (or set CHROMIUM and CHROMEDRIVER)"
        if ci():
            print(f"{PREFIX} FAIL {missing} not found, and CI is set: {how}", flush=True)
            return 1
        print(f"{PREFIX} SKIP {missing} not found; {how}", flush=True)
        return 0
    bin_path = Path(args.bin)
    if not bin_path.is_absolute():
        bin_path = REPO_ROOT / bin_path
    if not os.access(bin_path, os.X_OK):
        build = "cargo build -p notion-mcp-remote --bin notion-mcp-remote"
        print(f"{PREFIX} FAIL no server binary at {bin_path} ({build}, or set NOTION_MCP_BIN)", flush=True)
        return 1

    def timed_out(*_: object) -> None:
        raise CheckFailed(f"timed out after {OVERALL_TIMEOUT}s")

    signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(OVERALL_TIMEOUT)
    started = time.monotonic()
    try:
        run(args, chromium, chromedriver, bin_path)
    except (CheckFailed, OSError, KeyError, ValueError) as e:
        print(f"{PREFIX} FAIL {e} (logs in {args.out})", flush=True)
        return 1
    finally:
        signal.alarm(0)
    print(f"{PREFIX} all checks passed in {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
