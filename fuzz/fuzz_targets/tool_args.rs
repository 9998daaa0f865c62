//! Tool arguments: the first byte picks a tool, the rest is its `arguments` JSON. Runs the
//! registry's decoding exactly as a call would (string-encoded objects/arrays, numbers and booleans
//! coerced per the tool's schema, explicit nulls dropped, then the tool's typed parameters), without
//! running the tool.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notion_mcp_remote::mcp::{Registry, registry};
use serde_json::Value;
use std::sync::OnceLock;

fn tools() -> &'static (Registry, Vec<String>) {
    static TOOLS: OnceLock<(Registry, Vec<String>)> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let r = registry();
        let names = r.tools().iter().map(|t| t.name.to_string()).collect();
        (r, names)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (registry, names) = tools();
    let name = &names[pick as usize % names.len()];
    let def = registry.get(name).expect("listed tools are registered");
    let args = match serde_json::from_slice::<Value>(rest) {
        Ok(Value::Object(map)) => Some(map),
        Ok(Value::Null) => None,
        // rmcp refuses non-object arguments before a tool is looked up.
        _ => return,
    };
    if let Err(e) = def.check_args(args) {
        // Every refusal must explain itself.
        assert!(!e.to_string().is_empty());
    }
});
