//! Notion block JSON (an array of blocks, children nested in `children` or `<type>.children`) →
//! Markdown. The first byte picks the options (block-id anchors; a character budget); a budget
//! must be honoured up to the one block boundary the renderer is allowed to overrun at.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notion_markdown::json::nodes_from_json;
use notion_markdown::{RenderOptions, blocks};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let opts = RenderOptions {
        include_block_ids: pick & 1 == 1,
        max_chars: match pick >> 1 & 3 {
            0 => 0,
            1 => 64,
            2 => 1_000,
            _ => 100_000,
        },
    };
    let nodes = nodes_from_json(&items);
    let r = blocks(&nodes, &opts);
    if !r.truncated {
        let again = blocks(&nodes, &opts);
        assert_eq!(again, r, "rendering is deterministic");
    }
});
