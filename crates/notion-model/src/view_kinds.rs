//! The view types Notion documents for databases. One list for the view tools and the Notion fake.

/// View types a view can be created with; anything else is refused.
pub const VIEW_TYPES: [&str; 10] = [
    "table",
    "board",
    "list",
    "calendar",
    "timeline",
    "gallery",
    "form",
    "chart",
    "map",
    "dashboard",
];
