#![allow(clippy::unwrap_used)]
use super::*;

const TOOLS: &[&str] = &["search", "fetch", "create_pages"];
const TOKEN: &str = "ntn_secret_integration_token_123";

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse_str(text: &str) -> Result<ApiKeys, ApiKeyError> {
    parse(text, Path::new("/etc/keys.yaml"), TOOLS, &no_env)
}

fn yaml_entry(id: &str, hash: &str, rest: &str) -> String {
    format!("keys:\n  - id: {id}\n    key_sha256: {hash}\n{rest}")
}

fn err_of(text: &str) -> String {
    parse_str(text).unwrap_err().to_string()
}

#[test]
fn generated_keys_have_the_documented_shape() {
    let (key, hash) = generate();
    assert!(key.starts_with("nmr_ak_"), "{key}");
    assert_eq!(key.len(), 7 + 43);
    assert!(
        key[7..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(hash.len(), 64);
    assert_eq!(hash, key_sha256(&key));
    assert_ne!(generate().0, key);
    // Known vector: SHA-256("test").
    assert_eq!(
        key_sha256("test"),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
}

#[test]
fn yaml_file_authenticates_by_hash_and_builds_the_principal() {
    let (key, hash) = generate();
    let text = yaml_entry(
        "reporting-bot",
        &hash,
        &format!("    notion_token: {TOKEN}\n    scope: read-only\n    tools: [search, fetch]\n"),
    );
    let keys = parse_str(&text).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys.ids(), ["reporting-bot"]);
    let entry = keys.authenticate(&key).unwrap();
    assert_eq!(entry.id, "reporting-bot");
    assert_eq!(entry.scope, Scope::ReadOnly);
    let p = entry.principal(NotionVersion::V2025_09_03);
    assert_eq!(p.kind, PrincipalKind::ApiKey);
    assert_eq!(p.subject, "api-key:reporting-bot");
    assert_eq!(p.client_id.as_deref(), Some("reporting-bot"));
    assert_eq!(&*p.notion.expose_token(), TOKEN);
    assert_eq!(p.notion.version, NotionVersion::V2025_09_03);
    assert_eq!(p.notion.pacing_key, TokenRegistry::fingerprint(TOKEN));
    assert!(p.access.read_only);
    assert!(p.access.allows("search", false));
    assert!(!p.access.allows("create_pages", true));
    assert!(!p.access.allows("create_pages", false));
    // Nothing secret in Debug output.
    let shown = format!("{keys:?} {entry:?} {p:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains(&key), "{shown}");
}

#[test]
fn only_api_key_bearers_are_looked_up() {
    let (key, hash) = generate();
    let keys = parse_str(&yaml_entry(
        "a",
        &hash,
        &format!("    notion_token: {TOKEN}\n    scope: read-write\n"),
    ))
    .unwrap();
    assert!(keys.authenticate(&key).is_some());
    assert!(keys.authenticate(TOKEN).is_none());
    assert!(keys.authenticate(&format!("{key}x")).is_none());
    assert!(keys.authenticate("nmr_ak_").is_none());
    // A raw hash is not a key.
    assert!(keys.authenticate(&hash).is_none());
    let all = keys.authenticate(&key).unwrap().access();
    assert!(!all.read_only && all.tools.is_none());
}

#[test]
fn json_file_and_bare_list_and_env_token() {
    let (k1, h1) = generate();
    let (k2, h2) = generate();
    let text = format!(
        r#"[{{"id":"a","key_sha256":"{}","notion_token_env":"A_TOKEN","scope":"read-write"}},
            {{"id":"b","key_sha256":"{h2}","notion_token":"{TOKEN}","scope":"read-only","tools":["fetch"]}}]"#,
        h1.to_uppercase()
    );
    let env = |name: &str| (name == "A_TOKEN").then(|| "ntn_from_env".to_string());
    let keys = parse(&text, Path::new("k.json"), TOOLS, &env).unwrap();
    assert_eq!(keys.ids(), ["a", "b"]);
    let a = keys
        .authenticate(&k1)
        .unwrap()
        .principal(NotionVersion::default());
    assert_eq!(&*a.notion.expose_token(), "ntn_from_env");
    assert_eq!(keys.authenticate(&k2).unwrap().id, "b");
}

#[test]
fn load_reads_the_file_and_names_it_when_missing() {
    let dir = std::env::temp_dir().join(format!("nmr-api-keys-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys.yaml");
    let (key, hash) = generate();
    std::fs::write(
        &path,
        yaml_entry(
            "svc",
            &hash,
            &format!("    notion_token: {TOKEN}\n    scope: read-write\n"),
        ),
    )
    .unwrap();
    let keys = ApiKeys::load(&path, TOOLS).unwrap();
    assert_eq!(keys.authenticate(&key).unwrap().id, "svc");
    let missing = dir.join("nope.yaml");
    let e = ApiKeys::load(&missing, TOOLS).unwrap_err().to_string();
    assert!(e.contains("nope.yaml") && e.contains("cannot read"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn validation_names_file_entry_and_field() {
    let (_, hash) = generate();
    let ok_rest = format!("    notion_token: {TOKEN}\n    scope: read-only\n");
    let cases: Vec<(String, &str)> = vec![
        (
            yaml_entry(
                "svc",
                &hash,
                &format!("    notion_token: {TOKEN}\n    scope: admin\n"),
            ),
            "field `scope`",
        ),
        (yaml_entry("svc", "abc", &ok_rest), "field `key_sha256`"),
        (
            yaml_entry("svc", &"zz".repeat(32), &ok_rest),
            "field `key_sha256`",
        ),
        (yaml_entry("bad id!", &hash, &ok_rest), "field `id`"),
        (
            yaml_entry("svc", &hash, "    scope: read-only\n"),
            "field `notion_token`: missing",
        ),
        (
            yaml_entry(
                "svc",
                &hash,
                &format!(
                    "    notion_token: {TOKEN}\n    notion_token_env: X\n    scope: read-only\n"
                ),
            ),
            "not both",
        ),
        (
            yaml_entry(
                "svc",
                &hash,
                "    notion_token_env: UNSET_VAR\n    scope: read-only\n",
            ),
            "UNSET_VAR is not set",
        ),
        (
            yaml_entry(
                "svc",
                &hash,
                "    notion_token: nmr_ak_abc\n    scope: read-only\n",
            ),
            "this is an API key",
        ),
        (
            yaml_entry(
                "svc",
                &hash,
                &format!("{ok_rest}    tools: [search, delete_everything]\n"),
            ),
            "unknown tool 'delete_everything'",
        ),
        (
            yaml_entry("svc", &hash, &format!("{ok_rest}    tools: []\n")),
            "allows no tool",
        ),
        (
            yaml_entry("svc", &hash, &format!("{ok_rest}    color: blue\n")),
            "unknown field `color`",
        ),
        (
            yaml_entry("svc", &hash, &format!("{ok_rest}    key: nmr_ak_x\n")),
            "field `key`: never store a key itself",
        ),
        ("keys: []\n".into(), "lists no keys"),
        ("".into(), "lists no keys"),
        ("keys: 3\n".into(), "must be a list"),
        ("entries: []\n".into(), "unknown top-level field `entries`"),
        ("{\"keys\": [".into(), "not valid JSON"),
        ("keys: [\n".into(), "not valid YAML"),
    ];
    for (text, want) in cases {
        let e = err_of(&text);
        assert!(e.contains(want), "{text}\n→ {e}\n(wanted {want})");
        assert!(e.contains("/etc/keys.yaml"), "{e}");
        assert!(!e.contains(TOKEN), "{e}");
    }
    // The entry is named by position and id.
    let e = err_of(&yaml_entry("svc", "abc", &ok_rest));
    assert!(e.contains("entry 0 ('svc')"), "{e}");
}

#[test]
fn duplicates_are_refused() {
    let (_, h1) = generate();
    let (_, h2) = generate();
    let rest = format!("    notion_token: {TOKEN}\n    scope: read-only\n");
    let twice = |a: &str, ha: &str, b: &str, hb: &str| {
        format!(
            "keys:\n  - id: {a}\n    key_sha256: {ha}\n{rest}  - id: {b}\n    key_sha256: {hb}\n{rest}"
        )
    };
    let e = err_of(&twice("a", &h1, "a", &h2));
    assert!(
        e.contains("entry 1 ('a'), field `id`: another entry has the same id"),
        "{e}"
    );
    let e = err_of(&twice("a", &h1, "b", &h1));
    assert!(e.contains("entry 1 ('b'), field `key_sha256`"), "{e}");
}

#[test]
fn decoding_errors_never_echo_the_token() {
    let (_, hash) = generate();
    // A token pasted where a scope belongs: serde would quote it.
    let text = yaml_entry(
        "svc",
        &hash,
        &format!("    notion_token: {TOKEN}\n    scope: {TOKEN}\n"),
    );
    let e = err_of(&text);
    assert!(e.contains("field `scope`") && !e.contains(TOKEN), "{e}");
}

#[test]
fn entry_snippet_parses_once_a_token_is_set() {
    let (key, hash) = generate();
    let snippet = entry_yaml("ci.bot-1", &hash);
    assert!(snippet.contains("NOTION_TOKEN_CI_BOT_1"), "{snippet}");
    let text = format!("keys:\n{snippet}");
    let env = |name: &str| (name == "NOTION_TOKEN_CI_BOT_1").then(|| TOKEN.to_string());
    let keys = parse(&text, Path::new("k.yaml"), TOOLS, &env).unwrap();
    let entry = keys.authenticate(&key).unwrap();
    assert_eq!(entry.id, "ci.bot-1");
    assert_eq!(entry.scope, Scope::ReadOnly);
}
