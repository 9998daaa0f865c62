//! Latency samples and the numbers drawn from them: percentiles, throughput, medians across rounds,
//! and a least-squares slope (e.g. RSS growth over time).

use std::time::Duration;

/// The outcome of one load run: sorted per-call latencies of the calls that succeeded, wall time, and
/// how many calls failed.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Milliseconds, sorted ascending.
    pub latencies_ms: Vec<f64>,
    pub elapsed: Duration,
    pub errors: usize,
}

impl LoadResult {
    /// Builds a result, sorting the samples.
    pub fn new(mut latencies_ms: Vec<f64>, elapsed: Duration, errors: usize) -> Self {
        latencies_ms.sort_by(f64::total_cmp);
        Self {
            latencies_ms,
            elapsed,
            errors,
        }
    }

    /// The `p`-quantile (0.0–1.0) of the latencies in ms, nearest rank; 0 without samples.
    pub fn percentile(&self, p: f64) -> f64 {
        percentile_sorted(&self.latencies_ms, p)
    }

    /// Successful calls per second of wall time.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.latencies_ms.len() as f64 / secs
        } else {
            0.0
        }
    }

    /// Number of successful calls.
    pub fn ok(&self) -> usize {
        self.latencies_ms.len()
    }
}

/// The `p`-quantile of an ascending slice (nearest rank on `(len − 1) · p`); 0 when empty.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p.clamp(0.0, 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The median of some values (mean of the middle two for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Least-squares slope of `y` over `x` (units of y per unit of x); 0 with fewer than two distinct x.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_nearest_rank() {
        let r = LoadResult::new(
            (1..=100).rev().map(f64::from).collect(),
            Duration::from_secs(2),
            0,
        );
        assert_eq!(r.percentile(0.0), 1.0);
        assert_eq!(r.percentile(0.5), 51.0);
        assert_eq!(r.percentile(0.99), 99.0);
        assert_eq!(r.percentile(1.0), 100.0);
        assert_eq!(r.throughput(), 50.0);
        assert_eq!(LoadResult::default().percentile(0.5), 0.0);
        assert_eq!(LoadResult::default().throughput(), 0.0);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn slope_of_a_line_and_degenerate_inputs() {
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|x| (f64::from(x), 3.0 * f64::from(x) + 7.0))
            .collect();
        assert!((slope(&pts) - 3.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 2.0)]), 0.0);
        assert_eq!(slope(&[(1.0, 2.0), (1.0, 5.0)]), 0.0);
    }
}
