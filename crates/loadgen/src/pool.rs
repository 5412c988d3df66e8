//! Fan-out subscribers spread over several generator threads. Reading
//! frames is the generator's main cost; on one thread it saturated a core at
//! ~400k frames/s and its own queueing showed up as server latency.

use crate::report::Samples;
use crate::ws;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// What each thread hands back: its samples and, per subscriber, the count
/// of each seq received.
type Outcome = anyhow::Result<(Samples, Vec<Vec<u8>>)>;

pub struct Pool {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<Outcome>>,
    /// First deliveries so far, over every thread.
    pub progress: Arc<AtomicU64>,
}

pub struct Plan {
    pub threads: usize,
    /// Subscriber `i` connects to `urls[i % urls.len()]` with `tokens[i % tokens.len()]`.
    pub urls: Vec<String>,
    pub tokens: Vec<String>,
    pub channel: String,
    pub subscribers: usize,
    /// Seq slots per subscriber (the most messages the run can publish, + 1).
    pub slots: usize,
}

impl Pool {
    /// Starts the threads and returns once every subscriber is open.
    pub async fn open(plan: Plan) -> anyhow::Result<Self> {
        let threads = plan.threads.clamp(1, plan.subscribers.max(1));
        let plan = Arc::new(plan);
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(AtomicU64::new(0));
        let mut handles = Vec::with_capacity(threads);
        let mut ready = Vec::with_capacity(threads);
        for t in 0..threads {
            let (plan, stop, progress) = (plan.clone(), stop.clone(), progress.clone());
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
            ready.push(ready_rx);
            handles.push(std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let samples = Rc::new(RefCell::new(Samples::default()));
                    let mut subs = Vec::new();
                    for i in (t..plan.subscribers).step_by(threads) {
                        let url = &plan.urls[i % plan.urls.len()];
                        let token = &plan.tokens[i % plan.tokens.len()];
                        match ws::subscribe(
                            url,
                            &plan.channel,
                            token,
                            plan.slots,
                            samples.clone(),
                            progress.clone(),
                        )
                        .await
                        {
                            Ok(s) => subs.push(s),
                            Err(e) => {
                                let _ = ready_tx.send(Err(e.to_string()));
                                return Err(e);
                            }
                        }
                    }
                    let _ = ready_tx.send(Ok(()));
                    while !stop.load(Ordering::Relaxed) {
                        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                    }
                    let counts = subs.iter().map(|s| s.counts.take()).collect();
                    Ok((samples.take(), counts))
                })
            }));
        }
        for r in ready {
            match r.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => anyhow::bail!("a subscriber did not open: {e}"),
                Err(_) => anyhow::bail!("a generator thread ended before its subscribers opened"),
            }
        }
        Ok(Self {
            stop,
            threads: handles,
            progress,
        })
    }

    /// Stops the threads; returns their merged samples and every subscriber's counts.
    pub fn finish(self) -> anyhow::Result<(Samples, Vec<Vec<u8>>)> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Samples::default();
        let mut counts = Vec::new();
        for h in self.threads {
            let (s, c) = h
                .join()
                .map_err(|_| anyhow::anyhow!("a generator thread panicked"))??;
            all.deliveries += s.deliveries;
            all.latencies_us.extend(s.latencies_us);
            all.sent_us.extend(s.sent_us);
            counts.extend(c);
        }
        Ok((all, counts))
    }
}
