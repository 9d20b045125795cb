//! Servers on a runtime of their own, for tests where requests must race for real: the servers
//! answer on the threads of this runtime while the test's multi-thread runtime sends, so two
//! requests can be handled at the same instant rather than one after the other on one thread.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};

pub struct ServerRuntime {
    /// Always `Some` until dropped.
    runtime: Option<Runtime>,
}

impl ServerRuntime {
    pub fn new(worker_threads: usize) -> Self {
        let runtime = Builder::new_multi_thread()
            .worker_threads(worker_threads)
            .thread_name("servers")
            .enable_all()
            .build()
            .expect("a runtime for the servers");
        Self {
            runtime: Some(runtime),
        }
    }

    /// Runs `future` on the servers' runtime and waits for it: servers it starts (and anything
    /// they spawn) live there. Starting and stopping servers goes through here.
    pub async fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime
            .as_ref()
            .expect("the servers' runtime is running")
            .spawn(future)
            .await
            .expect("the servers' task finished")
    }

    /// How long each of the servers' threads has spent working so far.
    pub fn busy_times(&self) -> Vec<Duration> {
        let metrics = self
            .runtime
            .as_ref()
            .expect("the servers' runtime is running")
            .metrics();
        (0..metrics.num_workers())
            .map(|worker| metrics.worker_total_busy_duration(worker))
            .collect()
    }

    /// Asserts that every one of the servers' threads worked since `before` (from
    /// [`ServerRuntime::busy_times`]): the requests were served on several threads, so they could
    /// be served at the same time.
    pub fn assert_all_threads_worked_since(&self, before: &[Duration]) {
        let after = self.busy_times();
        let worked: Vec<Duration> = after
            .iter()
            .zip(before)
            .map(|(after, before)| after.saturating_sub(*before))
            .collect();
        eprintln!("servers' threads worked {worked:?}");
        assert!(
            worked.iter().all(|busy| !busy.is_zero()),
            "some of the servers' threads did nothing: {worked:?}"
        );
    }
}

impl Drop for ServerRuntime {
    fn drop(&mut self) {
        // A runtime may not be dropped (which blocks) inside another runtime's async context.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
