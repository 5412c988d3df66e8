//! Latency samples, summaries (a Markdown table row and a JSON line), and
//! server cost read from /proc.

use std::time::Duration;

#[derive(Default)]
pub struct Samples {
    /// Latencies in microseconds.
    pub latencies_us: Vec<u32>,
    pub deliveries: u64,
    /// When each delivered message was sent (µs since the epoch), beside
    /// `latencies_us`, for the per-rate-step table; empty when not recorded.
    pub sent_us: Vec<u64>,
}

impl Samples {
    /// [`Self::record`], remembering when the message was sent.
    pub fn record_sent(&mut self, sent_us: u64, latency_us: u64) {
        self.record(latency_us);
        self.sent_us.push(sent_us);
    }

    /// Prints one row per publishing step `(rate, from_us, to_us)`: the
    /// deliveries of messages sent in that step per second of the step, and
    /// their latency. Shows the rate at which latency gives way.
    pub fn print_steps(&self, steps: &[(u64, u64, u64)]) {
        println!("| publish rate (msg/s) | deliveries/s | p50 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|");
        for &(rate, from, to) in steps {
            let mut lat: Vec<u32> = self
                .sent_us
                .iter()
                .zip(&self.latencies_us)
                .filter(|(s, _)| (from..to).contains(*s))
                .map(|(_, l)| *l)
                .collect();
            lat.sort_unstable();
            let secs = (to.saturating_sub(from)) as f64 / 1e6;
            println!(
                "| {rate} | {:.0} | {:.1} | {:.1} | {:.1} |",
                lat.len() as f64 / secs.max(1e-9),
                percentile(&lat, 0.50),
                percentile(&lat, 0.99),
                lat.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
            );
        }
    }
    pub fn record(&mut self, latency_us: u64) {
        self.deliveries += 1;
        self.latencies_us
            .push(u32::try_from(latency_us).unwrap_or(u32::MAX));
    }
}

/// Server CPU seconds spent per delivery, in µs (0 when nothing arrived).
pub fn per_delivery_us(cpu_seconds: f64, deliveries: u64) -> f64 {
    if deliveries > 0 {
        cpu_seconds * 1e6 / deliveries as f64
    } else {
        0.0
    }
}

pub struct Summary {
    name: &'static str,
    fields: Vec<(&'static str, f64)>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

impl Summary {
    pub fn new(name: &'static str, s: &Samples, elapsed: Duration) -> Self {
        let mut sorted = s.latencies_us.clone();
        sorted.sort_unstable();
        let secs = elapsed.as_secs_f64().max(1e-9);
        Self {
            name,
            fields: vec![
                ("count", s.deliveries as f64),
                ("per_sec", s.deliveries as f64 / secs),
                ("p50_ms", percentile(&sorted, 0.50)),
                ("p99_ms", percentile(&sorted, 0.99)),
                (
                    "max_ms",
                    sorted.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
                ),
                ("elapsed_s", secs),
            ],
        }
    }

    pub fn with(mut self, k: &'static str, v: f64) -> Self {
        self.fields.push((k, v));
        self
    }

    pub fn print(&self) {
        let head: Vec<&str> = self.fields.iter().map(|(k, _)| *k).collect();
        println!("| scenario | {} |", head.join(" | "));
        println!("|---|{}", "---|".repeat(head.len()));
        let vals: Vec<String> = self.fields.iter().map(|(_, v)| format!("{v:.2}")).collect();
        println!("| {} | {} |", self.name, vals.join(" | "));
        let mut obj = serde_json::Map::new();
        obj.insert("scenario".into(), self.name.into());
        for (k, v) in &self.fields {
            obj.insert((*k).into(), serde_json::json!(v));
        }
        println!("{}", serde_json::Value::Object(obj));
    }
}

/// User + system CPU seconds of these processes so far.
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command name (which may contain spaces).
            let rest = stat.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / tick)
        })
        .sum()
}

/// Resident memory of these processes, KiB.
pub fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .sum()
}
