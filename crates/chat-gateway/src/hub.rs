//! Fan-out on one replica. A [`Hub`] per channel with local subscribers puts
//! the channel's events in seq order (holding early ones, filling gaps from
//! the database) and hands each subscriber the same shared frame: an event is
//! serialized once, never per recipient. Subscriber queues are bounded; a
//! subscriber that cannot keep up is dropped and told to go (it resumes with
//! `last_seq`), so one slow client never slows the others or grows memory.

use bytestring::ByteString;
use majlis_ws::{CloseRequest, CloseSignal, Outbox, Refused};
use prometheus_client::metrics::counter::Counter;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// One outbound frame, shared by every recipient.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The message seq for message events; `None` for typing and reactions.
    pub seq: Option<i64>,
    /// Typing events are not sent back to their author.
    pub author: Option<Uuid>,
    pub text: ByteString,
}

enum Mode {
    /// Replaying from the database: live frames wait here (bounded).
    CatchingUp(Vec<Frame>),
    Live,
}

struct Subscriber {
    user: Uuid,
    /// Frames with seq ≤ floor were (or will be) sent by the replay.
    floor: i64,
    mode: Mode,
    /// The socket's outbound queue: live frames go straight into it.
    outbox: Arc<Outbox>,
    /// Told to close (1013) when the outbox overflows.
    close: Arc<CloseSignal>,
}

struct State {
    /// The seq the hub delivers next.
    next_seq: i64,
    /// Messages that arrived ahead of a gap, by seq (bounded).
    pending: BTreeMap<i64, Frame>,
    /// The bytes of `pending`'s frames.
    pending_bytes: usize,
    /// The highest seq the stream has brought: what a gap fill reads up to
    /// when `pending` had no room for the messages after the gap.
    seen_upto: i64,
    filling: bool,
    subscribers: HashMap<u64, Subscriber>,
    /// When each user's last `typing_start` was let through here (entries
    /// older than the throttle window are dropped as others are added).
    typing: HashMap<Uuid, Instant>,
}

/// A subscriber that cannot keep up: 1013, and it resumes where it stopped.
pub const TOO_SLOW: CloseRequest = CloseRequest {
    reason: "too slow; resume with last_seq",
    ..CloseRequest::TOO_SLOW
};

/// The user was removed from the channel (or its team) while reading it.
pub const NO_LONGER_ALLOWED: CloseRequest = CloseRequest::new(
    majlis_ws::close::FORBIDDEN,
    "no longer a member of this channel",
);

/// Most messages held while a gap is filled, and most bytes of them (a
/// message frame reaches ~97 KB: 10,000 of those would be ~1 GB); beyond,
/// the earliest win and the fill reads the rest from the database too.
const MAX_PENDING: usize = 10_000;
const MAX_PENDING_BYTES: usize = 16 << 20;

pub struct Hub {
    pub channel: Uuid,
    state: Mutex<State>,
    queue_limit: usize,
}

/// What [`Hub::subscribe`] hands back.
pub struct Subscription {
    pub id: u64,
    /// The last seq this hub has delivered (or will replay up to).
    pub hub_seq: i64,
}

/// Counts for `/metrics`.
#[derive(Debug, Default)]
pub struct HubStats {
    pub deliveries: Counter,
    pub slow_disconnects: Counter,
    pub gap_fills: Counter,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Adds a subscriber that already has everything up to `client_seq` (or
    /// wants only new messages when `None`). It starts catching up: the caller
    /// replays `(client_seq, hub_seq]` from the database, then drains
    /// [`Hub::catch_up`] until it is live.
    pub fn subscribe(
        &self,
        id: u64,
        user: Uuid,
        client_seq: Option<i64>,
        outbox: Arc<Outbox>,
        close: Arc<CloseSignal>,
    ) -> Subscription {
        let mut st = self.lock();
        let hub_seq = st.next_seq - 1;
        let floor = client_seq.map_or(hub_seq, |c| c.max(hub_seq));
        st.subscribers.insert(
            id,
            Subscriber {
                user,
                floor,
                mode: Mode::CatchingUp(Vec::new()),
                outbox,
                close,
            },
        );
        Subscription { id, hub_seq }
    }

    /// The frames that arrived during the catch-up, to send next, in order.
    /// Empty means the subscriber is now live (or gone): the hub writes
    /// straight into its outbox from then on.
    ///
    /// Why not switch to live while handing the frames over: the socket task
    /// writes them afterwards, and a live frame pushed by the hub in between
    /// would overtake them (seen under load as seq 13 before 11 and 12). So
    /// the subscriber stays catching up, and new frames keep queueing behind
    /// these, until a call finds nothing left; that check and the switch
    /// happen under the hub's lock, where no delivery can interleave.
    pub fn catch_up(&self, id: u64) -> Vec<Frame> {
        let mut st = self.lock();
        let Some(sub) = st.subscribers.get_mut(&id) else {
            return Vec::new();
        };
        match &mut sub.mode {
            Mode::CatchingUp(buffered) if !buffered.is_empty() => std::mem::take(buffered),
            Mode::CatchingUp(_) => {
                sub.mode = Mode::Live;
                Vec::new()
            }
            Mode::Live => Vec::new(),
        }
    }

    /// Closes every socket of `user` here (4403): it may no longer read the
    /// channel. Returns how many. They leave the hub now, not when their
    /// tasks get to the close: nothing published after the removal reaches
    /// them in between.
    pub fn remove_user(&self, user: Uuid) -> usize {
        let mut st = self.lock();
        let before = st.subscribers.len();
        st.subscribers.retain(|_, sub| {
            if sub.user == user {
                sub.close.request(NO_LONGER_ALLOWED);
                false
            } else {
                true
            }
        });
        before - st.subscribers.len()
    }

    /// Removes a subscriber; true when the hub is now empty.
    fn unsubscribe(&self, id: u64) -> bool {
        let mut st = self.lock();
        st.subscribers.remove(&id);
        st.subscribers.is_empty()
    }

    /// A message event from the stream (or a gap fill). Returns true when a
    /// gap is open and no fill is scheduled yet: the caller schedules one.
    pub fn on_message(&self, seq: i64, frame: Frame, stats: &HubStats) -> bool {
        let mut st = self.lock();
        if seq < st.next_seq || st.pending.contains_key(&seq) {
            return false; // already delivered or held: a duplicate
        }
        st.seen_upto = st.seen_upto.max(seq);
        if seq > st.next_seq {
            let bytes = frame.text.len();
            if st.pending.len() < MAX_PENDING && st.pending_bytes + bytes <= MAX_PENDING_BYTES {
                st.pending_bytes += bytes;
                st.pending.insert(seq, frame);
            }
            let schedule = !st.filling;
            st.filling = true;
            return schedule;
        }
        Self::deliver(&mut st, &frame, self.queue_limit, stats);
        st.next_seq += 1;
        loop {
            let want = st.next_seq;
            let Some(next) = st.pending.remove(&want) else {
                break;
            };
            st.pending_bytes -= next.text.len();
            Self::deliver(&mut st, &next, self.queue_limit, stats);
            st.next_seq += 1;
        }
        false
    }

    /// Whether `user`'s `typing_start` may be announced now: at most one per
    /// user per `window` in this channel, from whichever of the user's
    /// sockets on this replica it comes.
    pub fn may_announce_typing(&self, user: Uuid, now: Instant, window: Duration) -> bool {
        let mut st = self.lock();
        if st
            .typing
            .get(&user)
            .is_some_and(|at| now.saturating_duration_since(*at) < window)
        {
            return false;
        }
        st.typing
            .retain(|_, at| now.saturating_duration_since(*at) < window);
        st.typing.insert(user, now);
        true
    }

    /// Typing and reaction events: no seq, delivered at once.
    pub fn on_event(&self, frame: Frame, stats: &HubStats) {
        let mut st = self.lock();
        Self::deliver(&mut st, &frame, self.queue_limit, stats);
    }

    /// The seq range a gap fill must fetch, or `None` when the gap closed by
    /// itself. Clears the scheduled flag when nothing is missing.
    pub fn gap(&self) -> Option<(i64, i64)> {
        let mut st = self.lock();
        let gap = Self::missing(&st);
        if gap.is_none() {
            st.filling = false;
        }
        gap
    }

    /// After a fill attempt: true when another is needed.
    pub fn fill_done(&self) -> bool {
        let mut st = self.lock();
        let still = Self::missing(&st).is_some();
        st.filling = still;
        still
    }

    /// The seqs to read from the database: up to the first held message, or
    /// up to the newest seen when none could be held.
    fn missing(st: &State) -> Option<(i64, i64)> {
        let upto = match st.pending.keys().next() {
            Some(&first) => first - 1,
            None => st.seen_upto,
        };
        (upto >= st.next_seq).then_some((st.next_seq - 1, upto))
    }

    fn deliver(st: &mut State, frame: &Frame, queue_limit: usize, stats: &HubStats) {
        let mut dropped = Vec::new();
        let mut gone = Vec::new();
        for (id, sub) in &mut st.subscribers {
            if frame.seq.is_some_and(|s| s <= sub.floor) {
                continue;
            }
            if frame.author.is_some_and(|a| a == sub.user) {
                continue;
            }
            let pushed = match &mut sub.mode {
                Mode::CatchingUp(buf) => {
                    if buf.len() < queue_limit {
                        buf.push(frame.clone());
                        Ok(())
                    } else {
                        Err(Refused::Full)
                    }
                }
                Mode::Live => sub.outbox.try_push(frame.text.clone()),
            };
            match pushed {
                Ok(()) => {
                    stats.deliveries.inc();
                }
                Err(Refused::Full) => dropped.push(*id),
                // The connection ended; its socket task unsubscribes.
                Err(Refused::Closed) => gone.push(*id),
            }
        }
        for id in gone {
            st.subscribers.remove(&id);
        }
        for id in dropped {
            if let Some(sub) = st.subscribers.remove(&id) {
                stats.slow_disconnects.inc();
                sub.close.request(TOO_SLOW);
            }
        }
    }
}

/// Removals remembered at most (~60 bytes each); past it the older ones
/// are forgotten and admissions that started before them check again.
const MAX_REMOVALS: usize = 10_000;
/// Removals younger than this are kept when the bound is reached: far longer
/// than an admission takes (one membership call and one Redis call).
const REMOVAL_MEMORY: Duration = Duration::from_secs(60);

/// The `member_removed` events this replica read, whether or not it had a
/// hub for their channel then. A socket checks membership before it joins
/// its hub; a removal read in between would find no subscriber to close and
/// the socket would stay open. So the join looks here first: a removal read
/// after the check started means the check may be stale.
#[derive(Default)]
struct Removals {
    /// (channel, user) → when the removal was read.
    recent: HashMap<(Uuid, Uuid), Instant>,
    /// Removals read up to this instant may have been forgotten.
    forgotten_upto: Option<Instant>,
}

impl Removals {
    fn record(&mut self, channel: Uuid, user: Uuid, now: Instant) {
        if self.recent.len() >= MAX_REMOVALS {
            let keep_after = now.checked_sub(REMOVAL_MEMORY);
            let mut forgotten = self.forgotten_upto;
            self.recent.retain(|_, at| {
                let keep = keep_after.is_none_or(|k| *at > k);
                if !keep {
                    forgotten = forgotten.max(Some(*at));
                }
                keep
            });
            if self.recent.len() >= MAX_REMOVALS {
                // A storm of removals: forget them all rather than grow.
                forgotten = forgotten.max(self.recent.values().max().copied());
                self.recent.clear();
            }
            self.forgotten_upto = forgotten;
        }
        self.recent.insert((channel, user), now);
    }

    /// Whether `user` may have been removed from `channel` since
    /// `checked_at`, when its membership was read.
    fn since(&self, channel: Uuid, user: Uuid, checked_at: Instant) -> bool {
        self.forgotten_upto.is_some_and(|f| f >= checked_at)
            || self
                .recent
                .get(&(channel, user))
                .is_some_and(|at| *at >= checked_at)
    }
}

/// [`Hubs::subscribe`] refused: the user was removed from the channel after
/// its membership was read; read it again.
#[derive(Debug, PartialEq, Eq)]
pub struct RemovedMeanwhile;

#[derive(Default)]
struct Inner {
    hubs: HashMap<Uuid, Arc<Hub>>,
    removals: Removals,
}

/// Every hub of this replica. Hubs exist only while they have subscribers.
pub struct Hubs {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    /// Frames a catching-up subscriber may have buffered (its outbox's bound).
    queue_limit: usize,
    pub stats: HubStats,
}

impl std::fmt::Debug for Hubs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hubs").finish_non_exhaustive()
    }
}

impl Hubs {
    pub fn new(queue_limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            next_id: AtomicU64::new(0),
            queue_limit,
            stats: HubStats::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Subscribes to `channel`, creating its hub at `last_seq` (the database's
    /// current last seq) when this replica has none yet; `true` when created,
    /// so the caller checks the database for messages the stream carried
    /// before the hub existed. `checked_at` is when the membership check
    /// that let the user in started: a removal read since refuses.
    #[allow(clippy::too_many_arguments)]
    pub fn subscribe(
        &self,
        channel: Uuid,
        last_seq: i64,
        user: Uuid,
        client_seq: Option<i64>,
        checked_at: Instant,
        outbox: Arc<Outbox>,
        close: Arc<CloseSignal>,
    ) -> Result<(Arc<Hub>, Subscription, bool), RemovedMeanwhile> {
        let mut inner = self.lock();
        // Under the same lock as `member_removed`: a removal is either
        // recorded before this look or finds the subscriber in the hub.
        if inner.removals.since(channel, user, checked_at) {
            return Err(RemovedMeanwhile);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut created = false;
        let hub = inner
            .hubs
            .entry(channel)
            .or_insert_with(|| {
                created = true;
                Arc::new(Hub {
                    channel,
                    state: Mutex::new(State {
                        next_seq: last_seq + 1,
                        pending: BTreeMap::new(),
                        pending_bytes: 0,
                        seen_upto: last_seq,
                        filling: false,
                        typing: HashMap::new(),
                        subscribers: HashMap::new(),
                    }),
                    queue_limit: self.queue_limit,
                })
            })
            .clone();
        // Subscribing under the registry lock keeps `unsubscribe` from
        // removing a hub someone is joining.
        let sub = hub.subscribe(id, user, client_seq, outbox, close);
        Ok((hub, sub, created))
    }

    pub fn unsubscribe(&self, hub: &Hub, id: u64) {
        let mut inner = self.lock();
        if hub.unsubscribe(id) {
            inner.hubs.remove(&hub.channel);
        }
    }

    pub fn get(&self, channel: &Uuid) -> Option<Arc<Hub>> {
        self.lock().hubs.get(channel).cloned()
    }

    /// `user` may no longer read `channel` (read at `now`): closes its
    /// sockets here (4403) and remembers the removal for the sockets being
    /// admitted. Returns how many closed.
    pub fn member_removed(&self, channel: Uuid, user: Uuid, now: Instant) -> usize {
        let mut inner = self.lock();
        inner.removals.record(channel, user, now);
        inner
            .hubs
            .get(&channel)
            .map_or(0, |hub| hub.remove_user(user))
    }

    #[cfg(test)]
    pub fn channels(&self) -> usize {
        self.lock().hubs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: i64) -> Frame {
        Frame {
            seq: Some(seq),
            author: None,
            text: ByteString::from(format!("m{seq}")),
        }
    }

    fn drain(outbox: &Outbox) -> Vec<i64> {
        outbox
            .take_texts()
            .iter()
            .map(|t| t.trim_start_matches('m').parse().unwrap_or(-1))
            .collect()
    }

    fn sub(
        hubs: &Hubs,
        ch: Uuid,
        last: i64,
        user: Uuid,
        client_seq: Option<i64>,
        cap: usize,
    ) -> (Arc<Hub>, Subscription, Arc<Outbox>, Arc<CloseSignal>) {
        let outbox = Outbox::new(cap);
        let close = CloseSignal::new();
        let joined = hubs.subscribe(
            ch,
            last,
            user,
            client_seq,
            Instant::now(),
            outbox.clone(),
            close.clone(),
        );
        let Ok((hub, s, _)) = joined else {
            panic!("no removal was read: the join is not refused");
        };
        (hub, s, outbox, close)
    }

    #[test]
    fn out_of_order_messages_are_delivered_in_seq_order() {
        let hubs = Hubs::new(16);
        let ch = Uuid::new_v4();
        let (hub, sub, out, _) = sub(&hubs, ch, 0, Uuid::new_v4(), None, 16);
        assert!(hub.catch_up(sub.id).is_empty());
        assert!(
            hub.on_message(2, frame(2), &hubs.stats),
            "a gap schedules one fill"
        );
        assert!(
            !hub.on_message(3, frame(3), &hubs.stats),
            "only one fill at a time"
        );
        assert_eq!(hub.gap(), Some((0, 1)));
        assert!(drain(&out).is_empty());
        hub.on_message(1, frame(1), &hubs.stats);
        assert_eq!(drain(&out), vec![1, 2, 3]);
        assert!(!hub.fill_done());
        hub.on_message(2, frame(2), &hubs.stats);
        assert!(drain(&out).is_empty(), "duplicates are dropped");
    }

    #[test]
    fn held_messages_are_bounded_by_bytes_and_the_fill_covers_those_not_held() {
        let hubs = Hubs::new(64);
        let ch = Uuid::new_v4();
        let (hub, sub, out, _) = sub(&hubs, ch, 0, Uuid::new_v4(), None, 64);
        assert!(hub.catch_up(sub.id).is_empty());
        let big = |seq: i64| Frame {
            seq: Some(seq),
            author: None,
            text: ByteString::from(format!("m{seq}{}", " ".repeat(1 << 20))),
        };
        // Seq 1 is missing; 2..=40 arrive, 1 MiB each.
        for seq in 2..=40 {
            hub.on_message(seq, big(seq), &hubs.stats);
        }
        assert!(hub.lock().pending_bytes <= MAX_PENDING_BYTES);
        assert_eq!(hub.gap(), Some((0, 1)));
        hub.on_message(1, frame(1), &hubs.stats);
        let delivered = out.take_texts().len();
        assert!((2..40).contains(&delivered), "{delivered}");
        assert_eq!(hub.lock().pending_bytes, 0);
        // The ones that had no room are read from the database.
        assert_eq!(hub.gap(), Some((i64::try_from(delivered).unwrap_or(0), 40)));
        for seq in i64::try_from(delivered).unwrap_or(0) + 1..=40 {
            hub.on_message(seq, frame(seq), &hubs.stats);
        }
        assert!(!hub.fill_done());
        assert_eq!(hub.gap(), None);
    }

    #[test]
    fn a_catching_up_subscriber_gets_live_frames_after_its_replay() {
        let hubs = Hubs::new(16);
        let ch = Uuid::new_v4();
        let (hub, sub, out, _) = sub(&hubs, ch, 5, Uuid::new_v4(), Some(2), 16);
        assert_eq!(sub.hub_seq, 5);
        hub.on_message(6, frame(6), &hubs.stats);
        assert!(drain(&out).is_empty());
        let seqs = |frames: Vec<Frame>| frames.iter().filter_map(|f| f.seq).collect::<Vec<_>>();
        assert_eq!(seqs(hub.catch_up(sub.id)), vec![6]);
        // 6 is handed over but not yet written: 7 must queue behind it, not
        // go straight to the socket ahead of it.
        hub.on_message(7, frame(7), &hubs.stats);
        assert!(drain(&out).is_empty(), "a live frame overtook the catch-up");
        assert_eq!(seqs(hub.catch_up(sub.id)), vec![7]);
        assert!(hub.catch_up(sub.id).is_empty(), "nothing left: live now");
        hub.on_message(8, frame(8), &hubs.stats);
        assert_eq!(drain(&out), vec![8]);
    }

    #[test]
    fn a_subscriber_that_cannot_keep_up_is_dropped_and_the_others_are_not() {
        let hubs = Hubs::new(2);
        let ch = Uuid::new_v4();
        let (hub, slow, _slow_out, slow_close) = sub(&hubs, ch, 0, Uuid::new_v4(), None, 2);
        let (_, fast, fast_out, fast_close) = sub(&hubs, ch, 0, Uuid::new_v4(), None, 2);
        hub.catch_up(slow.id);
        hub.catch_up(fast.id);
        for seq in 1..=3 {
            hub.on_message(seq, frame(seq), &hubs.stats);
            drain(&fast_out);
        }
        assert_eq!(slow_close.requested(), Some(TOO_SLOW));
        hub.on_message(4, frame(4), &hubs.stats);
        assert_eq!(drain(&fast_out), vec![4]);
        assert_eq!(fast_close.requested(), None);
        assert_eq!(hubs.stats.slow_disconnects.get(), 1);
    }

    #[test]
    fn typing_events_skip_their_author() {
        let hubs = Hubs::new(4);
        let ch = Uuid::new_v4();
        let me = Uuid::new_v4();
        let (hub, mine, mine_out, _) = sub(&hubs, ch, 0, me, None, 4);
        let (_, theirs, theirs_out, _) = sub(&hubs, ch, 0, Uuid::new_v4(), None, 4);
        hub.catch_up(mine.id);
        hub.catch_up(theirs.id);
        hub.on_event(
            Frame {
                seq: None,
                author: Some(me),
                text: ByteString::from("t"),
            },
            &hubs.stats,
        );
        assert!(mine_out.is_empty());
        assert_eq!(theirs_out.len(), 1);
    }

    #[test]
    fn one_typing_start_per_user_per_window() {
        let hubs = Hubs::new(4);
        let (hub, _, _, _) = sub(&hubs, Uuid::new_v4(), 0, Uuid::new_v4(), None, 4);
        let (me, you) = (Uuid::new_v4(), Uuid::new_v4());
        let window = Duration::from_secs(2);
        let t0 = Instant::now();
        assert!(hub.may_announce_typing(me, t0, window));
        assert!(!hub.may_announce_typing(me, t0 + Duration::from_millis(1999), window));
        assert!(hub.may_announce_typing(you, t0 + Duration::from_millis(100), window));
        assert!(hub.may_announce_typing(me, t0 + window, window));
        assert_eq!(hub.lock().typing.len(), 2);
        assert!(hub.may_announce_typing(you, t0 + window * 3, window));
        assert_eq!(hub.lock().typing.len(), 1, "stale entries are dropped");
    }

    #[test]
    fn the_last_unsubscribe_removes_the_hub() {
        let hubs = Hubs::new(4);
        let ch = Uuid::new_v4();
        let (hub, a, _a_out, _) = sub(&hubs, ch, 0, Uuid::new_v4(), None, 4);
        let (_, b, _b_out, _) = sub(&hubs, ch, 0, Uuid::new_v4(), None, 4);
        hubs.unsubscribe(&hub, a.id);
        assert_eq!(hubs.channels(), 1);
        hubs.unsubscribe(&hub, b.id);
        assert_eq!(hubs.channels(), 0);
    }

    #[test]
    fn a_removed_member_is_closed_with_4403_and_gets_nothing_more_while_the_others_do() {
        let hubs = Hubs::new(4);
        let ch = Uuid::new_v4();
        let (gone, stays) = (Uuid::new_v4(), Uuid::new_v4());
        let (hub, tab1, out1, close1) = sub(&hubs, ch, 0, gone, None, 4);
        let (_, tab2, out2, close2) = sub(&hubs, ch, 0, gone, None, 4);
        let (_, other, other_out, other_close) = sub(&hubs, ch, 0, stays, None, 4);
        for s in [&tab1, &tab2, &other] {
            hub.catch_up(s.id);
        }
        assert_eq!(hubs.member_removed(ch, gone, Instant::now()), 2);
        assert_eq!(close1.requested(), Some(NO_LONGER_ALLOWED));
        assert_eq!(close2.requested(), Some(NO_LONGER_ALLOWED));
        assert_eq!(NO_LONGER_ALLOWED.code, 4403);
        hub.on_message(1, frame(1), &hubs.stats);
        assert!(out1.is_empty() && out2.is_empty(), "nothing after removal");
        assert_eq!(drain(&other_out), vec![1]);
        assert_eq!(other_close.requested(), None);
        assert_eq!(hub.remove_user(gone), 0, "already out");
        // Their tasks still unsubscribe; the hub goes with the last one.
        hubs.unsubscribe(&hub, tab1.id);
        hubs.unsubscribe(&hub, tab2.id);
        assert_eq!(hubs.channels(), 1);
        hubs.unsubscribe(&hub, other.id);
        assert_eq!(hubs.channels(), 0);
    }

    #[test]
    fn a_removal_read_after_the_membership_check_refuses_the_join_and_an_earlier_one_does_not() {
        let hubs = Hubs::new(4);
        let (ch, user) = (Uuid::new_v4(), Uuid::new_v4());
        let t0 = Instant::now();
        let join = |checked_at: Instant, user: Uuid, ch: Uuid| {
            hubs.subscribe(
                ch,
                0,
                user,
                None,
                checked_at,
                Outbox::new(4),
                CloseSignal::new(),
            )
            .map(|_| ())
        };
        // No hub for the channel here yet: the removal is remembered anyway.
        assert_eq!(
            hubs.member_removed(ch, user, t0 + Duration::from_secs(1)),
            0
        );
        assert_eq!(
            join(t0, user, ch),
            Err(RemovedMeanwhile),
            "checked before it"
        );
        assert_eq!(
            join(t0 + Duration::from_secs(1), user, ch),
            Err(RemovedMeanwhile),
            "checked the same instant: may not have seen it"
        );
        assert_eq!(join(t0, Uuid::new_v4(), ch), Ok(()), "another user");
        assert_eq!(join(t0, user, Uuid::new_v4()), Ok(()), "another channel");
        assert_eq!(
            join(t0 + Duration::from_secs(2), user, ch),
            Ok(()),
            "a check after the removal saw it (re-added since)"
        );
    }

    #[test]
    fn remembered_removals_are_bounded_and_a_join_older_than_the_forgotten_ones_checks_again() {
        let hubs = Hubs::new(4);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        for _ in 0..MAX_REMOVALS {
            hubs.member_removed(Uuid::new_v4(), Uuid::new_v4(), at(1));
        }
        assert_eq!(hubs.lock().removals.recent.len(), MAX_REMOVALS);
        // Past the bound, the ones older than REMOVAL_MEMORY go...
        let later = at(1) + REMOVAL_MEMORY + Duration::from_secs(1);
        hubs.member_removed(Uuid::new_v4(), Uuid::new_v4(), later);
        assert_eq!(hubs.lock().removals.recent.len(), 1);
        let join = |checked_at: Instant| {
            hubs.subscribe(
                Uuid::new_v4(),
                0,
                Uuid::new_v4(),
                None,
                checked_at,
                Outbox::new(4),
                CloseSignal::new(),
            )
            .map(|_| ())
        };
        // ...and a join whose check predates them cannot trust their absence.
        assert_eq!(join(t0), Err(RemovedMeanwhile));
        assert_eq!(join(at(2)), Ok(()));
        // A storm of young ones is forgotten whole rather than grown.
        for _ in 0..MAX_REMOVALS {
            hubs.member_removed(Uuid::new_v4(), Uuid::new_v4(), later);
        }
        assert!(hubs.lock().removals.recent.len() <= MAX_REMOVALS);
        assert_eq!(join(later), Err(RemovedMeanwhile));
        assert_eq!(join(later + Duration::from_millis(1)), Ok(()));
    }
}
