#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/corpus/<target>/ (small, hand-picked inputs plus the
Markdown dialect guide and the fake workspace fixture). Re-run after changing the seeds:
    python3 fuzz/gen_corpus.py
Seed files are named by a hash of their content, so re-running is idempotent."""

import hashlib
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")

ID = "59833787-2cf9-4fdf-8782-e53db20768a5"
ID32 = ID.replace("-", "")


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rt(text, **ann):
    item = {"type": "text", "text": {"content": text, "link": None}, "plain_text": text}
    if ann:
        item["annotations"] = ann
    return item


def block(kind, payload, **extra):
    b = {"object": "block", "id": ID, "type": kind, kind: payload, "has_children": False}
    b.update(extra)
    return b


# ---- Markdown ---------------------------------------------------------------------------------
MARKDOWN = [
    "# Title\n\nA paragraph with **bold**, *italic*, ~~strike~~, `code` and [a link](https://example.com).\n",
    "- item\n\t- child\n\t\t- grandchild\n- [ ] todo\n- [x] done\n1. one\n2. two\n",
    "## Heading {toggle=\"true\"}\n\tinside the toggle\n### H3 {color=\"red\"}\n#### H4\n",
    "<details>\n<summary>Toggle</summary>\n\tchild paragraph\n</details>\n",
    "<callout icon=\"💡\" color=\"gray_bg\">\n\tNote **this**\n\t- nested list\n</callout>\n",
    "<columns>\n\t<column>\n\t\tleft\n\t</column>\n\t<column>\n\t\tright\n\t</column>\n</columns>\n",
    "```rust\nfn main() { println!(\"```\"); }\n```\n\n````\n```nested```\n````\n",
    "$$\nE = mc^2\n$$\n\nInline $x^2$ math.\n",
    "| A | B |\n| --- | --- |\n| 1 | 2 |\n| *x* | [y](https://y.example) |\n",
    "| | |\n|---|---|\n| no | header |\n",
    "> quote line\n> second line\n\n---\n\n***\n",
    "<page url=\"https://www.notion.so/%s\">Child page</page>\n<database url=\"https://www.notion.so/%s\">DB</database>\n" % (ID32, ID32),
    "![caption](https://img.example/a.png)\n<video src=\"https://v.example/a.mp4\">clip</video>\n<pdf src=\"file_upload://%s\"></pdf>\n" % ID,
    "[@Alice](user://%s) and [Page](https://www.notion.so/%s) and [DS](collection://%s)\n" % (ID, ID32, ID),
    "<mention-date start=\"2024-01-01\" end=\"2024-01-31\"/> <span underline=\"true\" color=\"red\">u</span>\n",
    "<https://bookmark.example>\n\n[caption](https://embed.example)\n",
    "<unknown type=\"ai_block\" id=\"%s\"/>\n<!-- children not loaded: fetch id %s -->\n" % (ID, ID),
    "\\- not a list\n\\# not a heading\n*emph* at start\n",
    "Table of contents\n<table_of_contents/>\n<breadcrumb/>\n",
    "- a\n\n\n\t\t\t\t\t\t- too deep?\n" + "\t" * 40 + "- deeper\n",
    "<synced_block>\n\tshared\n</synced_block>\n",
]


def markdown_seeds():
    out = list(MARKDOWN)
    guide = os.path.join(ROOT, "server/src/mcp/markdown_guide.md")
    if os.path.exists(guide):
        text = open(guide, encoding="utf-8").read()
        out.append(text)
        out.extend(s for s in re.split(r"\n(?=#)", text) if s.strip())
    return out


# ---- Block JSON -------------------------------------------------------------------------------
def block_seeds():
    t = [rt("Hello "), rt("world", bold=True, color="red_background"), {
        "type": "mention", "plain_text": "Alice", "annotations": {},
        "mention": {"type": "user", "user": {"id": ID, "name": "Alice"}}}, {
        "type": "equation", "plain_text": "x^2", "equation": {"expression": "x^2"}}]
    kids = [block("paragraph", {"rich_text": [rt("child")]})]
    blocks = [
        block("paragraph", {"rich_text": t, "color": "blue"}),
        block("heading_1", {"rich_text": [rt("H1")], "is_toggleable": True, "children": kids}),
        block("heading_2", {"rich_text": [rt("H2")]}),
        block("heading_3", {"rich_text": [rt("H3")]}),
        block("bulleted_list_item", {"rich_text": [rt("b")], "children": kids}),
        block("numbered_list_item", {"rich_text": [rt("n")]}),
        block("to_do", {"rich_text": [rt("t")], "checked": True}),
        block("toggle", {"rich_text": [rt("tog")]}, children=kids),
        block("quote", {"rich_text": [rt("q")]}),
        block("callout", {"rich_text": [rt("c")], "icon": {"type": "emoji", "emoji": "💡"}, "color": "gray_background"}),
        block("code", {"rich_text": [rt("let x = `1`;\n```")], "language": "rust", "caption": []}),
        block("equation", {"expression": "E=mc^2"}),
        block("divider", {}),
        block("table_of_contents", {}),
        block("image", {"type": "external", "external": {"url": "https://img.example/a.png"}, "caption": [rt("cap")]}),
        block("file", {"type": "file_upload", "file_upload": {"id": ID}}),
        block("bookmark", {"url": "https://b.example", "caption": []}),
        block("child_page", {"title": "Child"}),
        block("child_database", {"title": "DB"}),
        block("column_list", {}, children=[block("column", {}, children=kids), block("column", {}, children=kids)]),
        block("table", {"table_width": 2, "has_column_header": True, "has_row_header": False}, children=[
            block("table_row", {"cells": [[rt("a")], [rt("b")]]}),
            block("table_row", {"cells": [[rt("1")], [rt("2|3")]]})]),
        block("synced_block", {"synced_from": None}, children=kids),
        block("ai_block", {}),
        block("paragraph", {"rich_text": []}, has_children=True),
    ]
    out = [json.dumps(blocks)]
    out.extend(json.dumps([b]) for b in blocks)
    return out


# ---- MCP --------------------------------------------------------------------------------------
def rpc(method, params=None, id=1):
    m = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        m["params"] = params
    return json.dumps(m)


TOOL_CALLS = [
    ("search", {"query": "roadmap", "filter": "page", "limit": 5}),
    ("fetch", {"id": "https://www.notion.so/Acme-%s#%s" % (ID32, ID32)}),
    ("query_data_source", {"data_source_id": ID, "filter": "{\"and\":[]}", "sorts": "[{\"property\":\"Name\",\"direction\":\"ascending\"}]", "limit": "25"}),
    ("create_page", {"parent_id": ID, "title": "New", "markdown": "# Hi\n- a"}),
    ("update_page_markdown", {"page_id": ID, "markdown": "text", "mode": "append"}),
    ("append_blocks", {"block_id": ID, "markdown": "- x"}),
    ("get_page_property", {"page_id": ID, "property_id": "title"}),
    ("update_page", {"page_id": ID, "properties": {"Status": "Done"}, "archived": "false"}),
    ("create_comment", {"page_id": ID, "text": "hi"}),
    ("join", {"left": ID, "right": ID, "on": "Rel"}),
    ("resolve_relation", {"page_id": ID, "property": "Rel"}),
    ("get_user", {"user_id": ID}),
    ("list_users", {}),
    ("nope", {}),
]


def mcp_seeds():
    out = [
        rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}),
        rpc("initialize", {"protocolVersion": "2026-07-28", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}),
        rpc("tools/list"),
        rpc("tools/list", {"cursor": "x", "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}),
        rpc("resources/list"), rpc("resources/templates/list"), rpc("prompts/list"), rpc("ping"),
        rpc("resources/read", {"uri": "notion://guide/markdown"}),
        rpc("resources/read", {"uri": "notion://page/" + ID}),
        rpc("prompts/get", {"name": "summarize_page", "arguments": {"page": ID}}),
        rpc("completion/complete", {"ref": {"type": "ref/prompt", "name": "summarize_page"}, "argument": {"name": "page", "value": "Ac"}}),
        rpc("logging/setLevel", {"level": "debug"}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps({"jsonrpc": "2.0", "id": 7, "result": {}}),
        json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search\",\"arguments\":",
        "null",
    ]
    for i, (name, args) in enumerate(TOOL_CALLS):
        out.append(rpc("tools/call", {"name": name, "arguments": args}, id=i + 2))
    out.append(rpc("tools/call", {"name": "search", "arguments": "{\"query\":\"x\"}"}))
    return out


def tool_args_seeds():
    out = []
    shapes = [args for _, args in TOOL_CALLS] + [
        {"id": ID, "format": "json", "include_block_ids": "true", "max_chars": 1000},
        {"page_id": ID, "properties": "{\"Name\":{\"title\":[]}}", "children": "[]", "cursor": "abc"},
        {"data_source_id": ID, "properties": {"Name": {"title": {}}}, "title": "T"},
        {"block_id": ID, "markdown": "# a", "after": ID, "position": "start"},
        {"file_name": "a.txt", "content_base64": "aGk=", "content_type": "text/plain"},
        {"id": None, "limit": None},
    ]
    for i in range(48):
        out.append(bytes([i]) + json.dumps(shapes[i % len(shapes)]).encode())
    return out


# ---- OAuth ------------------------------------------------------------------------------------
def oauth_seeds():
    reg = [
        {"client_name": "Claude", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "token_endpoint_auth_method": "client_secret_post",
         "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], "contacts": ["a@b.example"], "logo_uri": "https://l.example/x.png"},
        {"redirect_uris": ["http://127.0.0.1:33418/callback", "http://localhost:6274/oauth/callback", "http://[::1]:1/cb"], "token_endpoint_auth_method": "none"},
        {"redirect_uris": ["javascript:alert(1)"]},
        {"redirect_uris": "https://a.example/cb", "grant_types": ["implicit"]},
    ]
    out = [b"\x00" + json.dumps(r).encode() for r in reg]
    cimd_id = "https://client.example/oauth/metadata.json"
    out.append(b"\x01" + (cimd_id + "\n" + json.dumps({"client_id": cimd_id, "client_name": "CIMD", "redirect_uris": ["https://client.example/cb"], "token_endpoint_auth_method": "none"})).encode())
    out.append(b"\x01" + (cimd_id + "\n" + json.dumps({"client_id": cimd_id, "redirect_uris": ["http://127.0.0.1:9/cb"]})).encode())
    out.append(b"\x01https://127.0.0.1/meta\n{}")
    # A document whose redirect URI registration would refuse must be refused too.
    out.append(b"\x01" + (cimd_id + "\n" + json.dumps({"client_id": cimd_id, "redirect_uris": ["javascript:alert(1)"]})).encode())
    out.append(b"\x01http://localhost:9/meta\n{\"client_id\":\"http://localhost:9/meta\",\"redirect_uris\":[\"x\"]}")
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    token_forms = [
        ("", "grant_type=authorization_code&code=nmr_code_x&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A5555%%2Fcb&code_verifier=%s&client_id=@P&resource=http%%3A%%2F%%2F127.0.0.1%%3A8080%%2Fmcp" % verifier),
        ("", "grant_type=refresh_token&refresh_token=nmr_rt_abc.def&client_id=@C&client_secret=@S"),
        ("Basic QEM6QFM=", "grant_type=refresh_token&refresh_token=nmr_rt_x"),
        ("Basic Zm9vOmJhcg==", "grant_type=authorization_code&code=x&client_id=foo"),
        ("", "grant_type=password&username=a"),
        ("", "grant_type=refresh_token&grant_type=refresh_token"),
    ]
    for auth, form in token_forms:
        out.append(b"\x02" + (auth + "\n" + form).encode())
    out.append(b"\x03\ntoken=nmr_at_abc.def&client_id=@P")
    out.append(b"\x03\ntoken=nmr_rt_abc&client_id=@C&client_secret=@S")
    for q in [
        "response_type=code&client_id=@P&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=xyz&scope=notion&resource=http%3A%2F%2F127.0.0.1%3A8080%2Fmcp",
        "response_type=code&client_id=@C&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&code_challenge=abc&code_challenge_method=plain",
        "response_type=token&client_id=@C&redirect_uri=https%3A%2F%2Fclient.example%2Fcb",
        "client_id=unknown",
    ]:
        out.append(b"\x04" + q.encode())
    out.append(b"\x05nmr-csrf=abc\nrequest=sealed.value&csrf=abc&decision=approve")
    out.append(b"\x05\ndecision=deny")
    return out


# ---- Notion responses -------------------------------------------------------------------------
def notion_seeds():
    out = []
    errors = [
        (429, {"object": "error", "status": 429, "code": "rate_limited", "message": "slow down", "request_id": "r1",
               "additional_data": {"rate_limit_reason": "workspace"}}),
        (400, {"object": "error", "status": 400, "code": "validation_error", "message": "body.children[0] is invalid"}),
        (409, {"object": "error", "status": 409, "code": "conflict_error", "message": "Conflict"}),
        (502, {"code": "internal_server_error"}),
        (401, {"object": "error", "code": "unauthorized", "message": "API token is invalid."}),
    ]
    for status, body in errors:
        out.append(b"\x00" + status.to_bytes(2, "big") + json.dumps(body).encode())
    out.append(b"\x00\x01\xf7<html>Bad gateway</html>")
    for v in ["120", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "1e400", "NaN", "Thu, 01 Jan 2099 00:00:00 GMT"]:
        out.append(b"\x01" + v.encode())
    for v in [ID, ID32, ID32.upper(), "https://www.notion.so/acme/Page-Title-%s?pvs=4#%s" % (ID32, ID32),
              "https://acme.notion.site/%s?v=%s&p=%s" % (ID32, ID32, ID32), "<%s>" % ID, "not an id", "notion.so/x"]:
        out.append(b"\x02" + v.encode())
    blocks = json.loads(block_seeds()[0])
    out.append(b"\x03" + json.dumps({"object": "list", "results": blocks[:6], "next_cursor": "c1", "has_more": True}).encode())
    page = {"object": "page", "id": ID, "url": "https://www.notion.so/" + ID32, "icon": {"type": "emoji", "emoji": "🏠"},
            "parent": {"type": "data_source_id", "data_source_id": ID},
            "properties": {
                "Name": {"id": "title", "type": "title", "title": [rt("Row")]},
                "Status": {"id": "s", "type": "status", "status": {"name": "Done", "color": "green"}},
                "Tags": {"id": "t", "type": "multi_select", "multi_select": [{"name": "a"}, {"name": "b"}]},
                "Due": {"id": "d", "type": "date", "date": {"start": "2024-01-01", "end": None}},
                "Done": {"id": "c", "type": "checkbox", "checkbox": True},
                "N": {"id": "n", "type": "number", "number": 3.5},
                "Rel": {"id": "r", "type": "relation", "relation": [{"id": ID}], "has_more": True},
                "F": {"id": "f", "type": "formula", "formula": {"type": "string", "string": "x"}},
                "Ro": {"id": "ro", "type": "rollup", "rollup": {"type": "array", "array": []}},
                "P": {"id": "p", "type": "people", "people": [{"object": "user", "id": ID, "name": "Alice"}]},
                "U": {"id": "u", "type": "url", "url": "https://x.example"},
                "Files": {"id": "fi", "type": "files", "files": [{"name": "a", "type": "external", "external": {"url": "https://f"}}]},
            }}
    out.append(b"\x04" + json.dumps(page).encode())
    out.append(b"\x04" + json.dumps({"object": "list", "results": [page, page], "has_more": False}).encode())
    ds = {"object": "data_source", "id": ID, "title": [rt("Tasks")], "properties": {
        "Name": {"id": "title", "name": "Name", "type": "title", "title": {}},
        "Status": {"id": "s", "name": "Status", "type": "select", "select": {"options": [{"name": "A", "color": "red"}]}},
        "Rel": {"id": "r", "name": "Rel", "type": "relation", "relation": {"data_source_id": ID}}}}
    out.append(b"\x05" + json.dumps(ds).encode())
    out.append(b"\x05" + json.dumps({"object": "database", "id": ID, "title": [rt("DB")], "data_sources": [{"id": ID, "name": "Tasks"}]}).encode())
    out.append(b"\x05" + json.dumps({"object": "user", "id": ID, "type": "person", "name": "Alice", "person": {"email": "a@b.example"}}).encode())
    pages = [{"object": "list", "results": [1, 2], "next_cursor": "a", "has_more": True},
             {"object": "list", "results": [3], "next_cursor": "a", "has_more": True},
             {"object": "list", "results": [], "next_cursor": None, "has_more": False, "request_status": {"type": "incomplete"}}]
    out.append(b"\x06\x02" + json.dumps(pages).encode())
    out.append(b"\x07" + json.dumps(page).encode())
    return out


def main():
    for md in markdown_seeds():
        write("markdown_to_blocks", md)
        write("markdown_roundtrip", md)
    for i, b in enumerate(block_seeds()):
        write("blocks_to_markdown", bytes([i % 8]) + b.encode())
    for m in mcp_seeds():
        write("mcp_request", m)
    for s in tool_args_seeds():
        write("tool_args", s)
    for s in oauth_seeds():
        write("oauth_inputs", s)
    for s in notion_seeds():
        write("notion_responses", s)


if __name__ == "__main__":
    main()
