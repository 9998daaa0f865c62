//! Corrections to the vendored spec where it contradicts Notion's API reference, applied before the
//! validators are compiled. The spec (an MCP server's trimmed copy) describes request bodies loosely or
//! wrongly in places; each correction says what the spec has and what developers.notion.com documents,
//! and keeps what the spec gets right (so a body is still checked against everything it describes).

use super::*;

/// `{"type":"array","items":<rich text item>,"maxItems":100}` (the request limit on any array).
fn rich_text_array() -> Value {
    json!({"type": "array", "items": {"$ref": "#/components/schemas/richTextRequest"}, "maxItems": 100})
}

/// One block type's request schema, in the style of the spec's own `paragraphBlockRequest`: the
/// type key holds an object; text blocks require `rich_text`; children are blocks again.
fn block_request(kind: &str) -> Value {
    let mut content = json!({
        "type": "object",
        "properties": {
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/blockObjectRequest"}, "maxItems": 100},
            "caption": rich_text_array(),
        },
    });
    if notion_model::block_kinds::has_rich_text(kind) {
        content["properties"]["rich_text"] = rich_text_array();
        content["required"] = json!(["rich_text"]);
    }
    if kind == "table_row" {
        content["properties"]["cells"] = json!({"type": "array", "items": rich_text_array()});
    }
    json!({
        "type": "object",
        "properties": {"type": {"const": kind}, kind: content},
        "required": [kind],
        "additionalProperties": false,
    })
}

/// An icon or cover: emoji, external file, file upload or custom emoji
/// (developers.notion.com/reference/page: `icon`, `cover`); `null` removes it on update.
fn file_or_emoji(nullable: bool) -> Value {
    let kinds = [
        ("emoji", json!({"type": "string"})),
        (
            "external",
            json!({"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}}),
        ),
        (
            "file_upload",
            json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}}),
        ),
        (
            "custom_emoji",
            json!({"type": "object", "required": ["id"]}),
        ),
    ];
    let mut any: Vec<Value> = kinds
        .into_iter()
        .map(|(k, v)| {
            json!({"type": "object", "required": [k], "properties": {"type": {"const": k}, k: v},
                   "additionalProperties": false})
        })
        .collect();
    if nullable {
        any.push(json!({"type": "null"}));
    }
    json!({"anyOf": any})
}

fn body<'a>(doc: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
    &mut doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
}

pub(super) fn correct(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];

    // `richTextRequest` allows only `text` items without `annotations`; request rich text also takes
    // `annotations`, `mention` and `equation` items (reference/rich-text), and `text.content` is at most
    // 2000 characters (reference/request-limits, stated in prose only).
    let mut text = schemas["richTextRequest"].clone();
    text["properties"]["annotations"] = json!({"type": "object", "additionalProperties": false,
        "properties": {"bold": {"type": "boolean"}, "italic": {"type": "boolean"},
            "strikethrough": {"type": "boolean"}, "underline": {"type": "boolean"},
            "code": {"type": "boolean"}, "color": {"type": "string"}}});
    text["properties"]["text"]["properties"]["content"]["maxLength"] = json!(2000);
    let other = |kind: &str, inner: Value| {
        json!({"type": "object", "required": [kind], "additionalProperties": false,
               "properties": {"type": {"const": kind}, kind: inner, "annotations": text["properties"]["annotations"].clone()}})
    };
    let mention = other("mention", json!({"type": "object"}));
    let equation = other(
        "equation",
        json!({"type": "object", "required": ["expression"], "properties": {"expression": {"type": "string", "maxLength": 1000}}}),
    );
    schemas["richTextRequest"] = json!({"anyOf": [text, mention, equation]});

    // `blockObjectRequest` lists only paragraph and bulleted_list_item; the API creates every block
    // type of reference/block (notion-model's list of creatable types).
    let kinds = notion_model::block_kinds::creatable();
    schemas["blockObjectRequest"] = json!({"anyOf": kinds.map(block_request).collect::<Vec<_>>()});

    // `parentRequest` names its second branch for data sources but requires `database_id`; rows of a
    // data source take `{"data_source_id"}` (reference/post-page, 2025-09-03).
    schemas["parentRequest"]["oneOf"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "object", "required": ["data_source_id"],
            "properties": {"type": {"const": "data_source_id"}, "data_source_id": {"type": "string", "format": "uuid"}}}));

    // post-page: `children` items are typed as strings and `icon`/`cover` as JSON strings; they are
    // block objects and file/emoji objects (reference/post-page).
    let post_page = body(doc, "/v1/pages", "post");
    post_page["properties"]["children"]["items"] =
        json!({"$ref": "#/components/schemas/blockObjectRequest"});
    post_page["properties"]["children"]["maxItems"] = json!(100);
    post_page["properties"]["icon"] = file_or_emoji(false);
    post_page["properties"]["cover"] = file_or_emoji(false);

    // patch-page: `icon` must be `{emoji}` only and `cover` external only, neither removable; Notion
    // takes any file/emoji object or `null`, and `is_locked` (reference/patch-page).
    let patch_page = body(doc, "/v1/pages/{page_id}", "patch");
    patch_page["properties"]["icon"] = file_or_emoji(true);
    patch_page["properties"]["cover"] = file_or_emoji(true);
    patch_page["properties"]["is_locked"] = json!({"type": "boolean"});

    // patch-block-children: `position` (start, end, after_block) is missing next to the legacy `after`
    // (reference/patch-block-children).
    body(doc, "/v1/blocks/{block_id}/children", "patch")["properties"]["position"] = json!({
        "type": "object", "required": ["type"],
        "properties": {"type": {"enum": ["start", "end", "after_block"]},
                       "after_block": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}}}});

    // update-a-block: the body holds the block's type key (`{"paragraph": {"rich_text": …}}`), which the
    // spec describes as a literal `type` field (reference/update-a-block); `in_trash` is missing too.
    let update_block = body(doc, "/v1/blocks/{block_id}", "patch");
    update_block["properties"]["in_trash"] = json!({"type": "boolean"});
    for kind in notion_model::block_kinds::creatable() {
        update_block["properties"][kind] = json!({"type": "object", "properties": {
            "rich_text": rich_text_array(), "checked": {"type": "boolean"}, "color": {"type": "string"}}});
    }

    // create-a-data-source: `parent` is `{page_id}`; a data source's parent is its database
    // (`{"type":"database_id","database_id"}`, reference/create-a-data-source).
    body(doc, "/v1/data_sources", "post")["properties"]["parent"] =
        json!({"$ref": "#/components/schemas/dataSourceIdParentRequest"});

    // create-a-comment: only `{parent: {page_id}, rich_text}`; Notion also takes a `discussion_id`
    // instead of `parent`, and `markdown` instead of `rich_text` (reference/create-a-comment).
    let comment = body(doc, "/v1/comments", "post");
    comment["required"] = json!([]);
    comment["properties"]["discussion_id"] = json!({"type": "string", "format": "uuid"});
    comment["properties"]["markdown"] = json!({"type": "string"});
    comment["oneOf"] = json!([{"required": ["parent"]}, {"required": ["discussion_id"]}]);

    // update-page-markdown: `markdown_version` (which Markdown dialect the edit is in) is missing
    // (reference/update-page-markdown).
    body(doc, "/v1/pages/{page_id}/markdown", "patch")["properties"]["markdown_version"] =
        json!({"type": "string"});
}
