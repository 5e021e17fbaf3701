//! Work queued for a task that does it in groups (PostgreSQL's `pg_group_commit` and
//! `pg_group_claim`).
//!
//! Callers ask and wait for their answer; the task forms a group when the one before is done,
//! so a group takes everything that arrived meanwhile (what may join is the work's own rule),
//! and does it at once. If a group fails, nothing of it was written: each of its pieces is
//! done again alone, so a bad one fails only itself.

use std::collections::VecDeque;
use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use packbench_core::ports::{StoreError, StoreResult};

/// One kind of work done in groups.
pub(crate) trait Grouped: Send + Sync + 'static {
    type Work: Send + Sync + 'static;
    type Answer: Send + 'static;
    /// What the task is, for the error its callers get once it has stopped.
    const TASK: &'static str;

    /// Whether `next` may join `grouped` (never empty).
    fn joins(group: &[Asked<Self>], next: &Asked<Self>) -> bool;

    /// Does a group at once: the answer of each piece, in order, or an error and nothing done.
    fn run(
        &self,
        group: &[&Self::Work],
    ) -> impl Future<Output = StoreResult<Vec<Self::Answer>>> + Send;
}

/// A piece of work and where its answer goes.
pub(crate) struct Asked<G: Grouped + ?Sized> {
    pub(crate) work: G::Work,
    answer: oneshot::Sender<StoreResult<G::Answer>>,
}

/// Where the work queues for its task. The task stops with the last of these.
pub(crate) struct Groups<G: Grouped> {
    waiting: mpsc::UnboundedSender<Asked<G>>,
}

impl<G: Grouped> Groups<G> {
    /// Starts the task.
    pub(crate) fn start(grouped: G) -> Self {
        let (waiting, queue) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut waiting = Waiting::new(queue);
            while let Some(group) = waiting.next_group(G::joins).await {
                answer_each(&grouped, group).await;
            }
        });
        Self { waiting }
    }

    /// Does `sqlite_work` with the next group it may join.
    pub(crate) async fn ask(&self, work: G::Work) -> StoreResult<G::Answer> {
        let (answer, answered) = oneshot::channel();
        let stopped = || StoreError::Backend(format!("the {} stopped", G::TASK).into());
        self.waiting
            .send(Asked { work, answer })
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// Does `grouped` and answers each of its callers.
async fn answer_each<G: Grouped>(grouped: &G, group: Vec<Asked<G>>) {
    let works: Vec<&G::Work> = group.iter().map(|a| &a.work).collect();
    let done = grouped.run(&works).await;
    drop(works);
    match done {
        Ok(answers) => {
            for (asked, answer) in group.into_iter().zip(answers) {
                let _ = asked.answer.send(Ok(answer));
            }
        }
        Err(e) if group.len() == 1 => {
            if let Some(asked) = group.into_iter().next() {
                let _ = asked.answer.send(Err(e));
            }
        }
        // Nothing was done: each alone, so a bad one fails only itself.
        Err(_) => {
            for asked in group {
                let alone = grouped.run(&[&asked.work]).await.and_then(|mut a| {
                    a.pop().ok_or_else(|| {
                        StoreError::Backend(format!("the {} answered nothing", G::TASK).into())
                    })
                });
                let _ = asked.answer.send(alone);
            }
        }
    }
}

/// What waits for the task: what a group left behind, then what came since, in arrival order.
struct Waiting<W> {
    queue: mpsc::UnboundedReceiver<W>,
    left: VecDeque<W>,
}

impl<W> Waiting<W> {
    fn new(queue: mpsc::UnboundedReceiver<W>) -> Self {
        Self {
            queue,
            left: VecDeque::new(),
        }
    }

    /// The next group: waits until something is waiting, then takes everything waiting by
    /// now, in arrival order, that `joins` the group so far; the rest waits for a later
    /// group. `None` once every sender is gone and nothing is left.
    async fn next_group(&mut self, mut joins: impl FnMut(&[W], &W) -> bool) -> Option<Vec<W>> {
        if self.left.is_empty() {
            self.left.push_back(self.queue.recv().await?);
        }
        while let Ok(w) = self.queue.try_recv() {
            self.left.push_back(w);
        }
        let mut group = Vec::new();
        let mut left = VecDeque::new();
        for w in self.left.drain(..) {
            if group.is_empty() || joins(&group, &w) {
                group.push(w);
            } else {
                left.push_back(w);
            }
        }
        self.left = left;
        Some(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_group_takes_what_joins_and_leaves_the_rest_in_order() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut waiting = Waiting::new(rx);
        for n in [1, 2, 3, 4, 5] {
            tx.send(n).unwrap();
        }
        let odd = |_: &[i32], w: &i32| w % 2 == 1;
        assert_eq!(waiting.next_group(odd).await, Some(vec![1, 3, 5]));
        tx.send(6).unwrap();
        // The first waiting always starts a group, even one `joins` would refuse.
        assert_eq!(waiting.next_group(odd).await, Some(vec![2]));
        let at_most_two = |g: &[i32], _: &i32| g.len() < 2;
        assert_eq!(waiting.next_group(at_most_two).await, Some(vec![4, 6]));
        drop(tx);
        assert_eq!(waiting.next_group(at_most_two).await, None);
    }
}
