#!/usr/bin/env node
// End-to-end check of a running notion-mcp-remote (demo workspace) with the official MCP TypeScript SDK.
//
// Usage: node sdk-client.mjs <mcp-url> [--expect-session yes|no|any] [--query WORDS] [--expect TEXT]
//
//   --expect-session  yes: the server must hand out an Mcp-Session-Id (started with --sessions);
//                     no:  it must not (stateless, the default server mode); any: don't check.
//   --query           title words for `search` (default: $E2E_SEARCH_QUERY or "Handbook").
//   --expect          text the fetched first hit must contain (default: $E2E_FETCH_EXPECT or "paid leave",
//                     from the demo workspace's Employee Handbook).
//
// Prints one line per check and exits non-zero with a clear message on the first failure.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const MIN_TOOLS = 13;
const REQUEST_TIMEOUT_MS = 20_000;
const OVERALL_TIMEOUT_MS = 120_000;
const GUIDE_URI = "notion://guide/markdown";
const UUID_RE = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i;

function parseArgs(argv) {
  const opts = {
    url: undefined,
    expectSession: "any",
    query: process.env.E2E_SEARCH_QUERY || "Handbook",
    expect: process.env.E2E_FETCH_EXPECT ?? "paid leave",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--expect-session") opts.expectSession = argv[++i];
    else if (a === "--query") opts.query = argv[++i];
    else if (a === "--expect") opts.expect = argv[++i];
    else if (a === "-h" || a === "--help") {
      console.log("usage: node sdk-client.mjs <mcp-url> [--expect-session yes|no|any] [--query WORDS] [--expect TEXT]");
      process.exit(0);
    } else if (!opts.url) opts.url = a;
    else fail(`unexpected argument: ${a}`);
  }
  if (!opts.url) fail("missing the MCP URL argument (e.g. http://127.0.0.1:8080/mcp)");
  if (!["yes", "no", "any"].includes(opts.expectSession)) fail("--expect-session must be yes, no or any");
  return opts;
}

function fail(msg) {
  console.error(`sdk-client: FAIL: ${msg}`);
  process.exit(1);
}

function ok(msg) {
  console.log(`sdk-client: ok   ${msg}`);
}

function check(cond, msg) {
  if (!cond) fail(msg);
}

function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

function short(s, n = 300) {
  const one = String(s).replace(/\s+/g, " ");
  return one.length > n ? `${one.slice(0, n)}…` : one;
}

// A fetch that records the raw HTTP body size of each JSON-RPC method's response (first one wins).
const responseBytes = new Map();
const sessionHeaders = [];
async function measuringFetch(input, init) {
  let method;
  try {
    method = init?.body ? JSON.parse(init.body).method : undefined;
  } catch {
    method = undefined;
  }
  const res = await fetch(input, init);
  const sid = res.headers.get("mcp-session-id");
  if (sid) sessionHeaders.push(sid);
  if (method && res.ok && res.body && !responseBytes.has(method)) {
    const copy = res.clone();
    responseBytes.set(
      method,
      copy
        .arrayBuffer()
        .then((b) => ({ bytes: b.byteLength, contentType: res.headers.get("content-type") ?? "" }))
        .catch(() => undefined),
    );
  }
  return res;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const watchdog = setTimeout(() => fail(`overall timeout after ${OVERALL_TIMEOUT_MS / 1000}s`), OVERALL_TIMEOUT_MS);
  watchdog.unref();
  const reqOpts = { timeout: REQUEST_TIMEOUT_MS };

  const transport = new StreamableHTTPClientTransport(new URL(opts.url), { fetch: measuringFetch });
  const client = new Client({ name: "notion-mcp-remote-e2e", version: "0.0.0" }, { capabilities: {} });
  try {
    await client.connect(transport, reqOpts);
  } catch (e) {
    fail(`initialize against ${opts.url} failed: ${e?.message ?? e}`);
  }
  const info = client.getServerVersion();
  const caps = client.getServerCapabilities() ?? {};
  ok(`initialize: server ${info?.name} ${info?.version}, capabilities [${Object.keys(caps).join(", ")}]`);
  for (const cap of ["tools", "resources", "prompts"]) check(caps[cap], `server does not declare the '${cap}' capability`);

  // Sessions: the default server is stateless (no Mcp-Session-Id); with --sessions it hands one out
  // and the SDK must send it back on every later request.
  const sid = transport.sessionId;
  if (opts.expectSession === "yes") check(sid, "expected an Mcp-Session-Id from initialize (server started with sessions), got none");
  if (opts.expectSession === "no") check(!sid, `expected no Mcp-Session-Id (stateless server), got ${sid}`);
  ok(`session: ${sid ? `Mcp-Session-Id ${sid.slice(0, 8)}… kept by the client` : "none (stateless)"}`);

  await client.ping(reqOpts);
  ok("ping");

  // tools/list
  const { tools } = await client.listTools({}, reqOpts);
  check(Array.isArray(tools), "tools/list returned no tools array");
  check(tools.length >= MIN_TOOLS, `expected at least ${MIN_TOOLS} tools, got ${tools.length}: ${tools.map((t) => t.name).join(", ")}`);
  for (const t of tools) {
    check(typeof t.title === "string" && t.title.trim(), `tool ${t.name}: missing title`);
    check(typeof t.description === "string" && t.description.trim(), `tool ${t.name}: missing description`);
    check(t.inputSchema && t.inputSchema.type === "object", `tool ${t.name}: missing inputSchema of type object`);
    check(typeof t.annotations?.readOnlyHint === "boolean", `tool ${t.name}: missing annotations.readOnlyHint`);
  }
  const names = tools.map((t) => t.name);
  for (const n of ["search", "fetch"]) check(names.includes(n), `tool '${n}' is not listed (have: ${names.join(", ")})`);
  const listed = await responseBytes.get("tools/list");
  const jsonBytes = Buffer.byteLength(JSON.stringify({ tools }), "utf8");
  ok(`tools/list: ${tools.length} tools (${names.join(", ")})`);
  console.log(
    `sdk-client: tools/list response size: ${listed ? listed.bytes : "?"} bytes on the wire` +
      `${listed ? ` (${listed.contentType.split(";")[0]})` : ""}, result JSON ${jsonBytes} bytes`,
  );

  // search → fetch
  const search = await client.callTool({ name: "search", arguments: { query: opts.query } }, undefined, reqOpts);
  const searchText = textOf(search);
  check(!search.isError, `search {query: "${opts.query}"} returned isError: ${short(searchText)}`);
  check(searchText.toLowerCase().includes(opts.query.toLowerCase()), `search result does not mention "${opts.query}": ${short(searchText)}`);
  // The Markdown result is a table: | Title | Type | Id | Last edited |; take the first row with an id.
  let hit;
  for (const line of searchText.split("\n")) {
    const m = line.match(UUID_RE);
    if (!m || !line.trim().startsWith("|")) continue;
    const cells = line.split("|").map((c) => c.trim()).filter((c, i, a) => i > 0 && i < a.length - 1);
    hit = { id: m[0], title: cells[0] ?? "", type: cells[1] ?? "" };
    break;
  }
  check(hit, `no id found in the search result: ${short(searchText)}`);
  ok(`search "${opts.query}": first hit "${hit.title}" (${hit.type}) ${hit.id}`);

  const fetched = await client.callTool({ name: "fetch", arguments: { id: hit.id } }, undefined, reqOpts);
  const fetchText = textOf(fetched);
  check(!fetched.isError, `fetch {id: ${hit.id}} returned isError: ${short(fetchText)}`);
  check(fetchText.trim().length > 0, `fetch {id: ${hit.id}} returned no text`);
  const titleProbe = hit.title.replace(/\\\|/g, "|").slice(0, 40);
  check(!titleProbe || fetchText.includes(titleProbe), `fetch of ${hit.id} does not contain its title "${titleProbe}": ${short(fetchText)}`);
  if (opts.expect) check(fetchText.includes(opts.expect), `fetch of ${hit.id} does not contain the expected "${opts.expect}": ${short(fetchText)}`);
  ok(`fetch ${hit.id}: ${fetchText.length} chars, contains "${titleProbe}"${opts.expect ? ` and "${opts.expect}"` : ""}`);

  // resources, templates, prompts
  const { resources } = await client.listResources({}, reqOpts);
  check(resources.some((r) => r.uri === GUIDE_URI), `resources/list lacks ${GUIDE_URI} (have: ${resources.map((r) => r.uri).join(", ")})`);
  ok(`resources/list: ${resources.map((r) => r.uri).join(", ")}`);
  const { resourceTemplates } = await client.listResourceTemplates({}, reqOpts);
  check(resourceTemplates.length > 0, "resources/templates/list is empty");
  ok(`resources/templates/list: ${resourceTemplates.map((r) => r.uriTemplate).join(", ")}`);
  const guide = await client.readResource({ uri: GUIDE_URI }, reqOpts);
  const guideText = guide.contents?.[0]?.text ?? "";
  check(guideText.length > 100, `resources/read ${GUIDE_URI}: expected Markdown text, got ${short(JSON.stringify(guide))}`);
  ok(`resources/read ${GUIDE_URI}: ${guideText.length} chars (${guide.contents[0].mimeType ?? "no mimeType"})`);
  const { prompts } = await client.listPrompts({}, reqOpts);
  check(prompts.length > 0, "prompts/list is empty");
  ok(`prompts/list: ${prompts.map((p) => p.name).join(", ")}`);
  const p0 = prompts[0];
  const pArgs = Object.fromEntries((p0.arguments ?? []).filter((a) => a.required).map((a) => [a.name, hit.id]));
  const got = await client.getPrompt({ name: p0.name, arguments: pArgs }, reqOpts);
  check(got.messages?.length > 0, `prompts/get ${p0.name}: no messages`);
  ok(`prompts/get ${p0.name}: ${got.messages.length} message(s)`);

  // Errors: an unknown tool is a JSON-RPC error; a wrongly typed argument is a tool result with
  // isError that names the field, so the model can fix its call.
  try {
    const r = await client.callTool({ name: "no_such_tool_e2e", arguments: {} }, undefined, reqOpts);
    fail(`unknown tool: expected a JSON-RPC error, got a result: ${short(JSON.stringify(r))}`);
  } catch (e) {
    check(e instanceof McpError && typeof e.code === "number", `unknown tool: expected a JSON-RPC error, got ${e}`);
    ok(`unknown tool → JSON-RPC error ${e.code}: ${short(e.message, 120)}`);
  }
  const bad = await client.callTool({ name: "search", arguments: { query: opts.query, limit: "many" } }, undefined, reqOpts);
  const badText = textOf(bad);
  check(bad.isError === true, `search {limit: "many"}: expected isError, got: ${short(badText)}`);
  check(badText.includes("limit"), `search {limit: "many"}: error does not name the field 'limit': ${short(badText)}`);
  ok(`wrong argument type → isError naming 'limit': ${short(badText, 120)}`);

  if (sid) {
    check(sessionHeaders.every((h) => h === sid), `the server changed the Mcp-Session-Id mid-session: ${[...new Set(sessionHeaders)].join(", ")}`);
    await transport.terminateSession();
    ok("session terminated (DELETE)");
  }
  await client.close();
  clearTimeout(watchdog);
  console.log("sdk-client: all checks passed");
}

main().catch((e) => fail(e?.stack ?? String(e)));
