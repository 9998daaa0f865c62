//! Medians across rounds, the comparison and per-round tables, the verdict against the targets, and
//! the plot's panels.

use crate::run::{Kind, Level, Sample};
use notion_mcp_bench::plot::Panel;
use notion_mcp_bench::report::{Table, mb, thousands};
use notion_mcp_bench::stats::median;

/// Ours ÷ official throughput wanted at every connection count.
const THROUGHPUT_TARGET: f64 = 10.0;
/// The connection count with stricter targets: more throughput, and a bound on our server's CPU.
const WIDE: usize = 32;
/// Ours ÷ official throughput wanted at [`WIDE`] connections.
const WIDE_THROUGHPUT_TARGET: f64 = 12.0;
/// Our server's CPU per call wanted at most at [`WIDE`] connections (ms).
const WIDE_CPU_TARGET_MS: f64 = 0.10;
/// Ours ÷ official RSS after load wanted at most.
const MEMORY_TARGET: f64 = 0.2;

/// Medians per server across rounds.
pub struct Summary {
    ours: Medians,
    official: Medians,
}

#[derive(Debug, Default)]
struct Medians {
    ready_ms: f64,
    idle_rss_kb: u64,
    loaded_rss_kb: u64,
    processes: u64,
    list_bytes: usize,
    tool_count: usize,
    notion_version: String,
    levels: Vec<Level>,
}

impl Medians {
    fn of(samples: &[&Sample], levels: usize) -> Self {
        let m =
            |f: &dyn Fn(&Sample) -> f64| median(&samples.iter().map(|s| f(s)).collect::<Vec<_>>());
        let first = samples.first();
        Self {
            ready_ms: m(&|s| s.ready_ms),
            idle_rss_kb: m(&|s| s.idle_rss_kb as f64) as u64,
            loaded_rss_kb: m(&|s| s.loaded_rss_kb as f64) as u64,
            processes: first.map_or(0, |s| s.processes),
            list_bytes: first.map_or(0, |s| s.list_bytes),
            tool_count: first.map_or(0, |s| s.tool_count),
            notion_version: first.map(|s| s.notion_version.clone()).unwrap_or_default(),
            levels: (0..levels)
                .map(|i| {
                    let l = |f: &dyn Fn(&Level) -> f64| m(&|s| s.levels.get(i).map_or(0.0, f));
                    Level {
                        throughput: l(&|x| x.throughput),
                        p50: l(&|x| x.p50),
                        p99: l(&|x| x.p99),
                        calls: samples
                            .iter()
                            .filter_map(|s| s.levels.get(i))
                            .map(|x| x.calls)
                            .sum(),
                        errors: samples
                            .iter()
                            .filter_map(|s| s.levels.get(i))
                            .map(|x| x.errors)
                            .sum(),
                        notion_per_call: l(&|x| x.notion_per_call),
                        server_cpu_ms_per_call: l(&|x| x.server_cpu_ms_per_call),
                        bench_cpu_ms_per_call: l(&|x| x.bench_cpu_ms_per_call),
                    }
                })
                .collect(),
        }
    }
}

impl Summary {
    pub fn new(samples: &[(Kind, Sample)], connections: &[usize]) -> Self {
        let of = |kind: Kind| {
            let v: Vec<&Sample> = samples
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, s)| s)
                .collect();
            Medians::of(&v, connections.len())
        };
        Self {
            ours: of(Kind::Ours),
            official: of(Kind::Official),
        }
    }

    fn throughput_ratio(&self, i: usize) -> f64 {
        ratio(
            self.ours.levels[i].throughput,
            self.official.levels[i].throughput,
        )
    }

    fn memory_ratio(&self) -> f64 {
        ratio(
            self.ours.loaded_rss_kb as f64,
            self.official.loaded_rss_kb as f64,
        )
    }

    pub fn table(&self, connections: &[usize]) -> Table {
        let (o, t) = (&self.ours, &self.official);
        let mut table = Table::new([
            "metric",
            Kind::Ours.label(),
            Kind::Official.label(),
            "ours ÷ official",
            "target",
        ]);
        for (i, c) in connections.iter().enumerate() {
            let (a, b) = (&o.levels[i], &t.levels[i]);
            let r = self.throughput_ratio(i);
            let wanted = throughput_target(*c);
            table.row([
                format!("tools/call throughput, {c} connections"),
                format!("{} calls/s", thousands(a.throughput.round() as u64)),
                format!("{} calls/s", thousands(b.throughput.round() as u64)),
                format!("{r:.1}×"),
                format!("≥ {wanted:.0}×: {}", met(r >= wanted)),
            ]);
            table.row([
                format!("latency p50 / p99, {c} connections"),
                format!("{:.2} / {:.2} ms", a.p50, a.p99),
                format!("{:.2} / {:.2} ms", b.p50, b.p99),
                format!("{:.2} / {:.2}", ratio(a.p50, b.p50), ratio(a.p99, b.p99)),
                String::new(),
            ]);
            table.row([
                format!("CPU per call: server / bench client + fake, {c} connections"),
                format!(
                    "{:.3} / {:.3} ms",
                    a.server_cpu_ms_per_call, a.bench_cpu_ms_per_call
                ),
                format!(
                    "{:.3} / {:.3} ms",
                    b.server_cpu_ms_per_call, b.bench_cpu_ms_per_call
                ),
                format!(
                    "{:.2} (server)",
                    ratio(a.server_cpu_ms_per_call, b.server_cpu_ms_per_call)
                ),
                if *c == WIDE {
                    let ok = a.server_cpu_ms_per_call <= WIDE_CPU_TARGET_MS;
                    format!("server ≤ {WIDE_CPU_TARGET_MS:.2} ms: {}", met(ok))
                } else {
                    String::new()
                },
            ]);
        }
        let m = self.memory_ratio();
        table.row([
            "RSS idle (process tree)".into(),
            mb(o.idle_rss_kb),
            mb(t.idle_rss_kb),
            format!("{:.2}", ratio(o.idle_rss_kb as f64, t.idle_rss_kb as f64)),
            String::new(),
        ]);
        table.row([
            "RSS after load (process tree)".into(),
            mb(o.loaded_rss_kb),
            mb(t.loaded_rss_kb),
            format!("{m:.2}"),
            format!("≤ {MEMORY_TARGET}: {}", met(m <= MEMORY_TARGET)),
        ]);
        table.row([
            "tools/list result".into(),
            format!(
                "{} bytes, {} tools",
                thousands(o.list_bytes as u64),
                o.tool_count
            ),
            format!(
                "{} bytes, {} tools",
                thousands(t.list_bytes as u64),
                t.tool_count
            ),
            format!("{:.2}", ratio(o.list_bytes as f64, t.list_bytes as f64)),
            String::new(),
        ]);
        table.row([
            "Notion requests per call".into(),
            levels_cell(&o.levels, |l| format!("{:.2}", l.notion_per_call)),
            levels_cell(&t.levels, |l| format!("{:.2}", l.notion_per_call)),
            String::new(),
            String::new(),
        ]);
        table.row([
            "Notion-Version sent".into(),
            o.notion_version.clone(),
            t.notion_version.clone(),
            String::new(),
            String::new(),
        ]);
        table.row([
            "start to ready".into(),
            format!("{:.0} ms", o.ready_ms),
            format!("{:.0} ms", t.ready_ms),
            String::new(),
            String::new(),
        ]);
        table.row([
            "processes / calls measured / errors".into(),
            format!(
                "{} / {} / {}",
                o.processes,
                thousands(total(&o.levels, |l| l.calls) as u64),
                total(&o.levels, |l| l.errors)
            ),
            format!(
                "{} / {} / {}",
                t.processes,
                thousands(total(&t.levels, |l| l.calls) as u64),
                total(&t.levels, |l| l.errors)
            ),
            String::new(),
            String::new(),
        ]);
        table
    }

    /// Prints whether each target is met; returns the missed ones (empty if all are met).
    pub fn verdict(&self, connections: &[usize]) -> Vec<String> {
        let mut missed = Vec::new();
        for (i, c) in connections.iter().enumerate() {
            let r = self.throughput_ratio(i);
            let wanted = throughput_target(*c);
            let ok = r >= wanted;
            let line = format!(
                "throughput at {c} connections: {r:.1}× the official server (target ≥ {wanted:.0}×)"
            );
            println!("{line}: {}", met(ok));
            if !ok {
                missed.push(line);
            }
            if *c == WIDE {
                let cpu = self.ours.levels[i].server_cpu_ms_per_call;
                let ok = cpu <= WIDE_CPU_TARGET_MS;
                let line = format!(
                    "server CPU per call at {c} connections: {cpu:.3} ms (target ≤ {WIDE_CPU_TARGET_MS:.2} ms)"
                );
                println!("{line}: {}", met(ok));
                if !ok {
                    missed.push(line);
                }
            }
        }
        let m = self.memory_ratio();
        let ok = m <= MEMORY_TARGET;
        let line =
            format!("RSS after load: {m:.3} of the official server's (target ≤ {MEMORY_TARGET})");
        println!("{line}: {}", met(ok));
        if !ok {
            missed.push(line);
        }
        missed
    }

    pub fn panels(&self, connections: &[usize]) -> Vec<Panel> {
        let groups: Vec<String> = connections
            .iter()
            .map(|c| format!("{c} connections"))
            .collect();
        let series = |f: &dyn Fn(&Level) -> f64| {
            vec![
                (
                    Kind::Ours.label().to_string(),
                    self.ours.levels.iter().map(f).collect(),
                ),
                (
                    Kind::Official.label().to_string(),
                    self.official.levels.iter().map(f).collect(),
                ),
            ]
        };
        let mib = |kb: u64| kb as f64 / 1024.0;
        vec![
            Panel {
                title: "tools/call throughput (higher is better)".into(),
                unit: "calls/s".into(),
                groups: groups.clone(),
                series: series(&|l| l.throughput),
            },
            Panel {
                title: "p99 latency (lower is better)".into(),
                unit: "ms".into(),
                groups,
                series: series(&|l| l.p99),
            },
            Panel {
                title: "RSS of the process tree (lower is better)".into(),
                unit: "MB".into(),
                groups: vec!["idle".into(), "after load".into()],
                series: vec![
                    (
                        Kind::Ours.label().to_string(),
                        vec![mib(self.ours.idle_rss_kb), mib(self.ours.loaded_rss_kb)],
                    ),
                    (
                        Kind::Official.label().to_string(),
                        vec![
                            mib(self.official.idle_rss_kb),
                            mib(self.official.loaded_rss_kb),
                        ],
                    ),
                ],
            },
        ]
    }
}

pub fn per_round_table(samples: &[(Kind, Sample)], connections: &[usize]) -> Table {
    let mut header = vec!["run".to_string(), "server".to_string()];
    for c in connections {
        header.push(format!("{c} conns: calls/s, p99"));
    }
    header.push("RSS idle → after load".into());
    let mut t = Table::new(header);
    for (i, (kind, s)) in samples.iter().enumerate() {
        let mut row = vec![(i + 1).to_string(), kind.label().to_string()];
        for l in &s.levels {
            row.push(format!(
                "{}, {:.2} ms",
                thousands(l.throughput.round() as u64),
                l.p99
            ));
        }
        row.push(format!("{} → {}", mb(s.idle_rss_kb), mb(s.loaded_rss_kb)));
        t.row(row);
    }
    t
}

pub fn brief(s: &Sample) -> String {
    let levels: Vec<String> = s
        .levels
        .iter()
        .map(|l| format!("{:.0}/s p99 {:.2} ms", l.throughput, l.p99))
        .collect();
    format!(
        "{}; RSS {} → {}",
        levels.join(", "),
        mb(s.idle_rss_kb),
        mb(s.loaded_rss_kb)
    )
}

fn levels_cell(levels: &[Level], f: impl Fn(&Level) -> String) -> String {
    levels.iter().map(f).collect::<Vec<_>>().join(" / ")
}

fn total(levels: &[Level], f: impl Fn(&Level) -> usize) -> usize {
    levels.iter().map(f).sum()
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

/// Ours ÷ official throughput wanted at `connections`.
fn throughput_target(connections: usize) -> f64 {
    if connections == WIDE {
        WIDE_THROUGHPUT_TARGET
    } else {
        THROUGHPUT_TARGET
    }
}
