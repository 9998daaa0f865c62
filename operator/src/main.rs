//! notion-mcp-operator: reconciles `NotionMcpRemote` resources into running, exposed deployments.
//!
//! The reconciler lands in its own change; this binary only reports what it is.

fn main() {
    println!(
        "notion-mcp-operator {}: the reconciler is not built yet",
        env!("CARGO_PKG_VERSION")
    );
}
