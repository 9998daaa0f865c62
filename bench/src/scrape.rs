//! Reading numbers off a server's Prometheus text exposition (`GET /metrics`).

/// The sum of every sample of metric `name` (all label sets), or `None` when it is absent.
pub fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // Exactly this metric: followed by labels or the value, not a longer name.
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        if let Some(v) = rest
            .rsplit(' ')
            .next()
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// `GET {base}/metrics` and [`metric_sum`] of `name`; `None` when unreachable or absent.
pub async fn fetch_metric(http: &reqwest::Client, base: &str, name: &str) -> Option<f64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    metric_sum(&text, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_label_sets_and_ignores_longer_names_and_comments() {
        let text = "# HELP x_total help\n# TYPE x_total counter\n\
                    x_total{reason=\"a\"} 2\nx_total{reason=\"b\"} 3.5\nx_total_bucket 9\nx 1\n";
        assert_eq!(metric_sum(text, "x_total"), Some(5.5));
        assert_eq!(metric_sum(text, "x"), Some(1.0));
        assert_eq!(metric_sum(text, "y"), None);
        assert_eq!(metric_sum("gauge 17\n", "gauge"), Some(17.0));
    }
}
