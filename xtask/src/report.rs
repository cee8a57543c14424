//! The bench's JSON report lines: a row as written to `bench-results/`, and a figure read out
//! of a report by its JSON path.

/// One row of `bench-results/*.jsonl`: the workload, its N and the report of that run.
pub(crate) fn serde_line(workload: &str, count: usize, report: &str) -> String {
    format!("{{\"workload\":\"{workload}\",\"n\":{count},\"report\":{report}}}")
}

/// Pulls a number out of the report line by JSON path (e.g. `input_latency_ms.p99`); NaN when
/// it is not there.
pub(crate) fn field(report: &str, path: &str) -> f64 {
    let mut value: serde_json::Value = serde_json::from_str(report).unwrap_or_default();
    for key in path.split('.') {
        value = value.get(key).cloned().unwrap_or_default();
    }
    value.as_f64().unwrap_or(f64::NAN)
}
