//! `check-config`: the serve settings from flags and environment, parsed and validated as `serve`
//! would, then a one-line summary — without binding a port or opening the store. Used by hand, in CI
//! and by the test that runs it on the environment of every Deployment the operator renders.

use crate::config::{Cli, ServeArgs, Settings};
use anyhow::bail;
use clap::{CommandFactory, ValueEnum};
use notion_mcp_contract::env::PREFIX;
use std::collections::BTreeSet;
use std::io::Write;

/// Every environment variable a `serve` setting reads.
pub fn env_names() -> BTreeSet<String> {
    let cli = Cli::command();
    cli.get_subcommands()
        .filter(|c| c.get_name() == "serve")
        .flat_map(|c| c.get_arguments())
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect()
}

/// The names among `names` that look like a server setting (the `NOTION_MCP_` prefix) but are none.
pub fn unknown_env<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let known = env_names();
    let mut unknown: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with(PREFIX) && !known.contains(*n))
        .map(str::to_string)
        .collect();
    unknown.sort();
    unknown
}

/// Validate `args` (already parsed from flags and this process's environment) and print a summary.
pub fn run(args: ServeArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    let unknown = unknown_env(names.iter().map(String::as_str));
    if !unknown.is_empty() {
        bail!(
            "unknown environment variable(s) {}: no setting reads them (see --help for the names)",
            unknown.join(", ")
        );
    }
    let settings = Settings::from_args(args)?;
    let a = &settings.args;
    crate::mcp::registry_with(a.read_only, &a.tools)?;
    let name = |v: Option<clap::builder::PossibleValue>| {
        v.map_or_else(|| "default".to_string(), |p| p.get_name().to_string())
    };
    writeln!(
        out,
        "settings are valid: auth mode {}, listening on {}, MCP endpoint {}, store {}",
        name(a.auth_mode.to_possible_value()),
        a.listen,
        settings.mcp_url(),
        name(a.store.kind.and_then(|k| k.to_possible_value())),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use notion_mcp_contract::env;

    #[test]
    fn every_serve_setting_has_its_contract_name() {
        let names = env_names();
        for n in [
            env::LISTEN,
            env::NOTION_OAUTH_CLIENT_SECRET,
            env::KEYS_DIR,
            env::LOG,
            env::OTLP_ENDPOINT,
            env::OTEL_SERVICE_NAME,
        ] {
            assert!(names.contains(n), "{n}");
        }
        // Ours, or OpenTelemetry's standard names.
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("NOTION_") || n.starts_with("OTEL_")),
            "{names:?}"
        );
    }

    #[test]
    fn unknown_names_are_those_with_the_prefix_only() {
        let names = [
            "NOTION_MCP_LISTEN",
            "NOTION_MCP_PACING_RATE",
            "NOTION_TOKEN_CI_BOT",
            "HOME",
        ];
        assert_eq!(unknown_env(names), ["NOTION_MCP_PACING_RATE"]);
    }
}
