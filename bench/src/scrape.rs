//! Reading numbers off a server's Prometheus text exposition (`GET /metrics`).

/// The sum of every sample of metric `name` (all label sets), or `None` when it is absent.
pub fn metric_sum(text: &str, name: &str) -> Option<f64> {
    metric_sum_where(text, name, &[])
}

/// The sum of the samples of metric `name` whose labels include every `label="value"` of `labels`,
/// or `None` when there is none.
pub fn metric_sum_where(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // Exactly this metric: followed by labels or the value, not a longer name.
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        let Some((series, value)) = rest.rsplit_once(' ') else {
            continue;
        };
        let has = |(label, value): &(&str, &str)| {
            let pair = format!("{label}=\"{value}\"");
            series.contains(&format!("{{{pair}")) || series.contains(&format!(",{pair}"))
        };
        if !labels.iter().all(has) {
            continue;
        }
        if let Ok(v) = value.trim().parse::<f64>() {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// `GET {base}/metrics`: the exposition text, `None` when unreachable.
pub async fn fetch_metrics(http: &reqwest::Client, base: &str) -> Option<String> {
    http.get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()
}

/// `GET {base}/metrics` and [`metric_sum`] of `name`; `None` when unreachable or absent.
pub async fn fetch_metric(http: &reqwest::Client, base: &str, name: &str) -> Option<f64> {
    metric_sum(&fetch_metrics(http, base).await?, name)
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

    #[test]
    fn filters_by_labels_whose_values_hold_spaces_and_braces() {
        let text = "c_total{endpoint=\"GET /v1/pages/{id}\",result=\"hit\"} 4\n\
                    c_total{endpoint=\"POST /v1/data_sources/{id}/query\",result=\"hit\"} 2\n\
                    c_total{endpoint=\"GET /v1/pages/{id}\",result=\"miss\"} 1\n\
                    c_total{endpoint=\"x\",result=\"hits\"} 9\n";
        assert_eq!(
            metric_sum_where(text, "c_total", &[("result", "hit")]),
            Some(6.0)
        );
        assert_eq!(
            metric_sum_where(
                text,
                "c_total",
                &[("endpoint", "GET /v1/pages/{id}"), ("result", "miss")]
            ),
            Some(1.0)
        );
        assert_eq!(
            metric_sum_where(text, "c_total", &[("result", "proof")]),
            None
        );
        assert_eq!(metric_sum_where(text, "c_total", &[]), Some(16.0));
    }
}
