//! Where a scan's readers leave what they read for the thread that takes it
//! in, in input order. A channel wakes its receiver for every message: with
//! a folder of small files that was a wake (and a sleep) per file, most of
//! them for a file the taker could not use yet, since an earlier one was
//! still being read. Here a reader wakes the taker only with what it waits
//! for: the unit it must take in next, or the last reader's end.

use std::sync::{Condvar, Mutex, MutexGuard};

/// What a message is for: the unit (input order) it belongs to.
pub trait ForUnit {
    fn unit(&self) -> usize;
}

pub struct Mailbox<M> {
    state: Mutex<State<M>>,
    ready: Condvar,
}

struct State<M> {
    messages: Vec<M>,
    /// Readers still at work.
    senders: usize,
    /// The unit the taker sleeps waiting for.
    waits_for: Option<usize>,
}

impl<M: ForUnit> Mailbox<M> {
    pub fn new(senders: usize) -> Mailbox<M> {
        Mailbox {
            state: Mutex::new(State {
                messages: Vec::new(),
                senders,
                waits_for: None,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<M>> {
        // A reader that panicked holding the lock left whole messages: the
        // state is still sound.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, m: M) {
        let unit = m.unit();
        let wake = {
            let mut s = self.lock();
            s.messages.push(m);
            s.waits_for == Some(unit)
        };
        if wake {
            self.ready.notify_one();
        }
    }

    /// A reader is done (also when it panics: see [`Sender`]).
    fn sender_done(&self) {
        let wake = {
            let mut s = self.lock();
            s.senders = s.senders.saturating_sub(1);
            s.senders == 0 && s.waits_for.is_some()
        };
        if wake {
            self.ready.notify_one();
        }
    }

    /// Everything sent so far, once something for `unit` is among it (or
    /// every reader is done); `None` when every reader is done and nothing
    /// is left.
    pub fn take(&self, unit: usize) -> Option<Vec<M>> {
        let mut s = self.lock();
        loop {
            if s.messages.iter().any(|m| m.unit() == unit) || s.senders == 0 {
                s.waits_for = None;
                let all = std::mem::take(&mut s.messages);
                return (!all.is_empty()).then_some(all);
            }
            s.waits_for = Some(unit);
            s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// A reader's handle: dropped, even in a panic, it says the reader is done.
    pub fn sender(&self) -> Sender<'_, M> {
        Sender { mailbox: self }
    }
}

pub struct Sender<'m, M: ForUnit> {
    mailbox: &'m Mailbox<M>,
}

impl<M: ForUnit> Sender<'_, M> {
    pub fn send(&self, m: M) {
        self.mailbox.send(m);
    }
}

impl<M: ForUnit> Drop for Sender<'_, M> {
    fn drop(&mut self) {
        self.mailbox.sender_done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Msg(usize);
    impl ForUnit for Msg {
        fn unit(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn the_taker_gets_everything_in_the_end_whatever_the_order() {
        let mailbox = Mailbox::new(3);
        let got = std::thread::scope(|s| {
            for r in 0..3 {
                let sender = mailbox.sender();
                s.spawn(move || {
                    for u in (0..300).filter(|u| u % 3 == r).rev() {
                        sender.send(Msg(u));
                    }
                });
            }
            let mut taken = 0;
            let mut held = std::collections::BTreeSet::new();
            let mut order = Vec::new();
            while let Some(ms) = mailbox.take(taken) {
                held.extend(ms.into_iter().map(|m| m.0));
                while held.remove(&taken) {
                    order.push(taken);
                    taken += 1;
                }
            }
            order
        });
        assert_eq!(got, (0..300).collect::<Vec<_>>());
    }

    #[test]
    fn a_reader_that_panics_still_ends_the_take() {
        let mailbox = Mailbox::<Msg>::new(2);
        std::thread::scope(|s| {
            let a = mailbox.sender();
            let b = mailbox.sender();
            s.spawn(move || {
                a.send(Msg(1));
            });
            let dies = s.spawn(move || {
                let _b = b;
                panic!("a reader's bug");
            });
            assert!(dies.join().is_err());
            // Unit 0 never comes: the take ends with what there is.
            let got = mailbox.take(0).unwrap();
            assert_eq!(got.len(), 1);
            assert!(mailbox.take(0).is_none());
        });
    }
}
