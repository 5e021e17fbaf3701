//! Work queued for a task that does it in groups (PostgreSQL's `commit` and `claim`).

use std::collections::VecDeque;

use tokio::sync::mpsc;

/// What waits for the task: what a group left behind, then what came since, in arrival order.
pub(crate) struct Waiting<W> {
    queue: mpsc::UnboundedReceiver<W>,
    left: VecDeque<W>,
}

impl<W> Waiting<W> {
    pub(crate) fn new(queue: mpsc::UnboundedReceiver<W>) -> Self {
        Self {
            queue,
            left: VecDeque::new(),
        }
    }

    /// The next group: waits until something is waiting, then takes everything waiting by
    /// now, in arrival order, that `joins` the group so far; the rest waits for a later
    /// group. `None` once every sender is gone and nothing is left.
    pub(crate) async fn next_group(
        &mut self,
        mut joins: impl FnMut(&[W], &W) -> bool,
    ) -> Option<Vec<W>> {
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
