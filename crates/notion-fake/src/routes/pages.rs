//! Page endpoints: create, retrieve, update, move, and paginated property items.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Ctx, body_id, path_id, required};
use crate::blocks::{self, InsertAt};
use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;
use crate::pagination::{self, list_body};
use crate::properties::{self, full_items, normalize_value, plain_title_schema};
use crate::render::{self, file_or_emoji};
use crate::richtext::short;
use crate::state::{NodeKind, Page, Parent, State};
use crate::webhooks::Change;

/// Parses a `parent` object and checks the caller can see it. `allowed` lists accepted keys.
pub fn parse_parent(state: &State, ctx: &Ctx, raw: &Value, allowed: &[&str]) -> ApiResult<Parent> {
    let obj = raw
        .as_object()
        .ok_or_else(|| ApiError::should_be("body.parent", "an object", raw))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            [
                "page_id",
                "data_source_id",
                "database_id",
                "workspace",
                "block_id",
            ]
            .into_iter()
            .find(|k| obj.contains_key(*k))
            .map(str::to_string)
        })
        .unwrap_or_default();
    if !allowed.contains(&kind.as_str()) {
        return Err(ApiError::body_validation(format!(
            "body.parent should have one of {}, instead was `{}`.",
            allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
            short(raw)
        )));
    }
    if kind == "workspace" {
        return Ok(Parent::Workspace);
    }
    let id = body_id(
        obj.get(&kind).unwrap_or(&Value::Null),
        &format!("body.parent.{kind}"),
    )?;
    match kind.as_str() {
        "page_id" => state.page(&ctx.bot, &id).map(|_| Parent::Page(id)),
        "block_id" => match state.block_like(&ctx.bot, &id)? {
            NodeKind::Page => Ok(Parent::Page(id)),
            _ => Ok(Parent::Block(id)),
        },
        "data_source_id" => state
            .data_source(&ctx.bot, &id)
            .map(|_| Parent::DataSource(id)),
        _ => {
            let db = state.database(&ctx.bot, &id)?;
            let live: Vec<Uuid> = db
                .data_sources
                .iter()
                .filter(|d| state.data_sources.get(d).is_some_and(|d| !d.in_trash))
                .copied()
                .collect();
            match live.as_slice() {
                [only] => Ok(Parent::DataSource(*only)),
                _ => Err(ApiError::validation(format!(
                    "Database {} has {} data sources; use a `data_source_id` parent.",
                    fmt_id(&id),
                    live.len()
                ))),
            }
        }
    }
}

/// Writes `props` (request form) into `page.properties` following the parent's schema.
pub fn apply_properties(
    state: &mut State,
    parent: &Parent,
    props: &Value,
    target: &mut Map<String, Value>,
) -> ApiResult<()> {
    let obj = props
        .as_object()
        .ok_or_else(|| ApiError::should_be("body.properties", "an object", props))?;
    if let Parent::DataSource(ds_id) = parent {
        let Some(ds) = state.data_sources.get_mut(ds_id) else {
            return Err(ApiError::not_found("data_source", &fmt_id(ds_id)));
        };
        for (key, raw) in obj {
            let index = ds.prop_index(key).ok_or_else(|| {
                ApiError::validation(format!("{key} is not a property that exists."))
            })?;
            let value = normalize_value(&mut ds.properties[index], raw, true)?;
            target.insert(ds.properties[index].id.clone(), value);
        }
        return Ok(());
    }
    for (key, raw) in obj {
        let is_title = key == "title"
            || raw.get("title").is_some()
            || raw.get("type") == Some(&json!("title"));
        if !is_title {
            return Err(ApiError::validation(format!(
                "{key} is not a property that exists. Pages outside a data source only have a title."
            )));
        }
        let mut schema = plain_title_schema();
        target.insert("title".into(), normalize_value(&mut schema, raw, true)?);
    }
    Ok(())
}

pub fn get(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let id = path_id(raw, "page_id")?;
    let page = state.page(&ctx.bot, &id)?;
    let filter = ctx.filter_properties();
    Ok(render::page(state, ctx.version, page, filter.as_deref()))
}

pub fn create(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    let parent_raw = required(ctx, "parent")?;
    let parent = parse_parent(
        state,
        ctx,
        parent_raw,
        &["page_id", "data_source_id", "database_id", "workspace"],
    )?;
    if ctx.field("markdown").is_some() {
        if ctx.field("children").is_some() {
            return Err(ApiError::body_validation(
                "body.children should be not present when body.markdown is given.",
            ));
        }
        return Err(ApiError::validation(
            "Markdown content is not supported by this Notion fake; send `children`.",
        ));
    }
    let template = template_page(state, ctx)?;
    let props = required(ctx, "properties")?;
    let children = match ctx.field("children") {
        Some(v) => {
            let specs = blocks::parse_api_children(v, "body.children")?;
            blocks::check_placement(None, &specs, "body.children")?;
            specs
        }
        None => Vec::new(),
    };
    if let Some(Parent::Page(pid)) = Some(parent)
        && state.trashed(&pid)
    {
        return Err(ApiError::archived());
    }
    let mut values = Map::new();
    apply_properties(state, &parent, props, &mut values)?;
    let at = match ctx.field("position") {
        None => InsertAt::End,
        Some(p) => match p.get("type").and_then(Value::as_str) {
            Some("page_start") => InsertAt::Start,
            Some("page_end") | Some("end") => InsertAt::End,
            Some("after_block") => InsertAt::After(body_id(
                p.pointer("/after_block/id").unwrap_or(&Value::Null),
                "body.position.after_block.id",
            )?),
            _ => {
                return Err(ApiError::should_be("body.position", "a valid position", p));
            }
        },
    };
    let (icon, cover) = (ctx.file_field("icon")?, ctx.file_field("cover")?);
    let id = state.new_id();
    let by = ctx.bot.id;
    let stamp = state.stamp(by);
    let seq = state.next_seq();
    let page = Page {
        id,
        workspace_id: ctx.bot.workspace_id,
        parent,
        properties: values,
        icon,
        cover,
        in_trash: false,
        is_locked: false,
        created: stamp,
        edited: stamp,
        seq,
    };
    state.pages.insert(id, page);
    attach(state, &parent, id, at);
    blocks::insert_tree(
        state,
        ctx.bot.workspace_id,
        Parent::Page(id),
        children,
        InsertAt::End,
        by,
    );
    state.record(Change::PageCreated(id));
    // The answer shows the blank page; the template's content follows it (Notion: in the background).
    let answer = render::page(state, ctx.version, state.page(&ctx.bot, &id)?, None);
    if let Some(source) = template {
        let specs = copy_specs(state, &source, 0);
        blocks::insert_tree(
            state,
            ctx.bot.workspace_id,
            Parent::Page(id),
            specs,
            InsertAt::End,
            by,
        );
    }
    Ok(answer)
}

/// The page a `template: {type: "template_id"}` names, when it is a page rather than a data-source
/// template (any page the integration can read in its workspace may serve as a template).
fn template_page(state: &State, ctx: &Ctx) -> ApiResult<Option<Uuid>> {
    let Some(t) = ctx.field("template") else {
        return Ok(None);
    };
    if t.get("type").and_then(Value::as_str) != Some("template_id") {
        return Ok(None);
    }
    if ctx.field("children").is_some() {
        return Err(ApiError::body_validation(
            "body.children should be not present when body.template is given.",
        ));
    }
    let id = body_id(
        t.get("template_id").unwrap_or(&Value::Null),
        "body.template.template_id",
    )?;
    let is_source_template = state
        .data_sources
        .values()
        .any(|d| d.templates.iter().any(|x| x.id == id));
    if is_source_template {
        return Ok(None);
    }
    state.page(&ctx.bot, &id)?;
    Ok(Some(id))
}

/// The live block content under `id` as specs (child pages and databases are left out).
fn copy_specs(state: &State, id: &Uuid, depth: usize) -> Vec<blocks::BlockSpec> {
    if depth > 64 {
        return Vec::new();
    }
    state
        .live_children(id)
        .iter()
        .filter_map(|k| state.blocks.get(k))
        .map(|b| blocks::BlockSpec {
            kind: b.kind.clone(),
            data: b.data.clone(),
            children: copy_specs(state, &b.id, depth + 1),
        })
        .collect()
}

/// Links a page into its parent (children list or data-source rows).
pub fn attach(state: &mut State, parent: &Parent, id: Uuid, at: InsertAt) {
    match parent {
        Parent::Page(p) | Parent::Block(p) => blocks::place(state, *p, &[id], at),
        Parent::DataSource(ds) => {
            if let Some(d) = state.data_sources.get_mut(ds) {
                d.rows.push(id);
            }
        }
        Parent::Database(_) | Parent::Workspace => {}
    }
}

pub fn update(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.update_content, "update_content")?;
    let id = path_id(raw, "page_id")?;
    let page = state.page(&ctx.bot, &id)?.clone();
    let trash = ctx.trash_flag()?;
    let edits = ["properties", "icon", "cover", "is_locked", "erase_content"]
        .iter()
        .any(|k| ctx.field(k).is_some());
    if page.in_trash && trash != Some(false) && edits {
        return Err(ApiError::archived());
    }
    let mut updated = page.clone();
    if let Some(props) = ctx.field("properties") {
        apply_properties(state, &page.parent, props, &mut updated.properties)?;
    }
    if let Some(icon) = ctx.body.get("icon") {
        updated.icon = file_or_emoji(icon, "body.icon")?;
    }
    if let Some(cover) = ctx.body.get("cover") {
        updated.cover = file_or_emoji(cover, "body.cover")?;
    }
    if let Some(locked) = ctx.field("is_locked").and_then(Value::as_bool) {
        updated.is_locked = locked;
    }
    if let Some(t) = trash {
        updated.in_trash = t;
    }
    let mut erased = Vec::new();
    if ctx.field("erase_content").and_then(Value::as_bool) == Some(true) {
        for kid in state.live_children(&id) {
            if let Some(b) = state.blocks.get_mut(&kid) {
                b.in_trash = true;
                erased.push(kid);
            }
        }
    }
    updated.edited = state.stamp(ctx.bot.id);
    state.record_all(Change::page_edits(&page, &updated, erased));
    state.pages.insert(id, updated);
    let page = state.page(&ctx.bot, &id)?;
    Ok(render::page(state, ctx.version, page, None))
}

pub fn move_page(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.update_content, "update_content")?;
    let id = path_id(raw, "page_id")?;
    let page = state.page(&ctx.bot, &id)?.clone();
    let target = parse_parent(
        state,
        ctx,
        required(ctx, "parent")?,
        &["page_id", "data_source_id", "workspace"],
    )?;
    if let Some(tid) = target.id()
        && state.ancestors(&tid).contains(&id)
    {
        return Err(ApiError::validation(
            "Cannot move a page into itself or one of its descendants.",
        ));
    }
    let mut props = page.properties.clone();
    if target != page.parent {
        let old_key = match page.parent {
            Parent::DataSource(ds) => state
                .data_sources
                .get(&ds)
                .and_then(|d| d.title_prop())
                .map(|p| p.id.clone()),
            _ => Some("title".into()),
        };
        let title = old_key.and_then(|k| page.properties.get(&k).cloned());
        props = Map::new();
        let key = match target {
            Parent::DataSource(ds) => state
                .data_sources
                .get(&ds)
                .and_then(|d| d.title_prop())
                .map(|p| p.id.clone()),
            _ => Some("title".into()),
        };
        if let (Some(key), Some(title)) = (key, title) {
            props.insert(key, title);
        }
    }
    state.detach(&page.parent, &id);
    attach(state, &target, id, InsertAt::End);
    let stamp = state.stamp(ctx.bot.id);
    if let Some(p) = state.pages.get_mut(&id) {
        p.parent = target;
        p.properties = props;
        p.edited = stamp;
    }
    state.record(Change::PageMoved {
        page: id,
        from: page.parent,
    });
    let page = state.page(&ctx.bot, &id)?;
    Ok(render::page(state, ctx.version, page, None))
}

pub fn property_item(state: &mut State, ctx: &Ctx, raw: &str, prop: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let id = path_id(raw, "page_id")?;
    let page = state.page(&ctx.bot, &id)?;
    let schema = match page.parent {
        Parent::DataSource(ds) => state
            .data_sources
            .get(&ds)
            .and_then(|d| d.prop(prop))
            .cloned(),
        _ => (crate::ids::percent_decode(prop) == "title").then(plain_title_schema),
    }
    .ok_or_else(|| {
        ApiError::new(
            404,
            "object_not_found",
            format!("Could not find property with ID: {prop}."),
        )
    })?;
    let Some(items) = full_items(state, page, &schema) else {
        let mut v = properties::render_value(state, page, &schema, None);
        if let Some(m) = v.as_object_mut() {
            let mut out = Map::new();
            out.insert("object".into(), json!("property_item"));
            out.extend(std::mem::take(m));
            out.remove("has_more");
            return Ok(Value::Object(out));
        }
        return Ok(v);
    };
    let req = ctx.query_page(state.limits.max_page_size)?;
    let (slice, next, more) = pagination::slice(&items, req);
    let results = slice
        .into_iter()
        .map(|item| json!({"object": "property_item", "id": schema.id, "type": schema.kind, schema.kind.clone(): item}))
        .collect();
    let next_url = next.as_ref().map(|c| {
        format!(
            "{}/v1/pages/{}/properties/{}?start_cursor={c}",
            ctx.base_url,
            fmt_id(&id),
            schema.id
        )
    });
    let mut body = list_body("property_item", results, next, more);
    body["property_item"] = json!({"type": schema.kind, schema.kind.clone(): {}, "next_url": next_url, "id": schema.id});
    Ok(body)
}
