//! Markdown (as a client writes it into a page) → Notion block JSON. The output must be an array of
//! typed blocks that the renderer accepts back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notion_markdown::json::nodes_from_json;
use notion_markdown::{RenderOptions, blocks, markdown_to_blocks};

fuzz_target!(|data: &[u8]| {
    let Ok(md) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(out) = markdown_to_blocks(md) else {
        return;
    };
    for b in &out {
        let kind = b["type"].as_str().expect("every block has a type");
        assert!(
            b.get(kind).is_some(),
            "block without its {kind} payload: {b}"
        );
    }
    let _ = blocks(&nodes_from_json(&out), &RenderOptions::default());
});
