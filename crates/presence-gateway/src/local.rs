//! This replica's presence sockets, indexed by team and by user, and the
//! delivery of events to them. Event frames go straight into the socket's
//! bounded `majlis_ws::Outbox`, its response body (a client that cannot keep
//! up is cut off); presence changes go to a per-socket map
//! that the socket flushes once per tick, so a storm of N changes costs each
//! socket a few `presence_batch` frames instead of N frames.

use bytestring::ByteString;
use majlis_events::Audience;
use majlis_ws::{CloseRequest, CloseSignal, Outbox, Refused};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;
use uuid::Uuid;

/// What the rest of the replica hands a socket besides event frames. Slots
/// and one `Notify` rather than channels: a socket holds this for its whole
/// life, and an idle socket should cost as little as possible.
pub struct Mailbox {
    /// The socket's outbound frames (events go here directly).
    pub wire: Arc<Outbox>,
    /// Asked for when the wire overflows (1013), or by the registry.
    pub close: Arc<CloseSignal>,
    /// user → latest status not yet sent.
    pub presence: Mutex<HashMap<Uuid, String>>,
    /// The user's latest team move since the last look: the socket
    /// re-registers its presence and sends the new list.
    pub team_changed: Mutex<Option<TeamMove>>,
    /// Woken when `presence` or `team_changed` gets something.
    pub notify: Notify,
}

/// A change of the user's team that its open sockets follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TeamMove {
    /// Joined this team (onboarding, an invite).
    Joined(Uuid),
    /// Left or was removed from this team: the socket sends `frame`
    /// (`team_removed`), then an empty list, and has no team.
    Removed { team: Uuid, frame: ByteString },
}

impl Mailbox {
    fn team_slot(&self) -> MutexGuard<'_, Option<TeamMove>> {
        match self.team_changed.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        }
    }

    /// Takes the team change waiting, if any.
    pub fn take_team_change(&self) -> Option<TeamMove> {
        self.team_slot().take()
    }

    /// Drops the presence changes not yet sent.
    pub fn clear_presence(&self) {
        match self.presence.lock() {
            Ok(mut p) => p.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }

    /// Leaves a team change (the latest wins) and wakes the socket.
    fn set_team_change(&self, team: TeamMove) {
        *self.team_slot() = Some(team);
        self.notify.notify_one();
    }
}

struct Entry {
    user: Uuid,
    team: Option<Uuid>,
    outbox: Arc<Mailbox>,
}

#[derive(Default)]
struct Index {
    sockets: HashMap<u64, Entry>,
    by_team: HashMap<Uuid, HashSet<u64>>,
    by_user: HashMap<Uuid, HashSet<u64>>,
}

#[derive(Default)]
pub struct Local {
    index: Mutex<Index>,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").finish_non_exhaustive()
    }
}

impl Local {
    fn lock(&self) -> MutexGuard<'_, Index> {
        match self.index.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn register(
        &self,
        id: u64,
        user: Uuid,
        team: Option<Uuid>,
        wire: Arc<Outbox>,
        close: Arc<CloseSignal>,
    ) -> Arc<Mailbox> {
        let outbox = Arc::new(Mailbox {
            wire,
            close,
            presence: Mutex::new(HashMap::new()),
            team_changed: Mutex::new(None),
            notify: Notify::new(),
        });
        let mut ix = self.lock();
        ix.sockets.insert(
            id,
            Entry {
                user,
                team,
                outbox: outbox.clone(),
            },
        );
        if let Some(t) = team {
            ix.by_team.entry(t).or_default().insert(id);
        }
        ix.by_user.entry(user).or_default().insert(id);
        outbox
    }

    pub fn unregister(&self, id: u64) {
        let mut ix = self.lock();
        if let Some(e) = ix.sockets.remove(&id) {
            if let Some(t) = e.team {
                remove_from(&mut ix.by_team, t, id);
            }
            remove_from(&mut ix.by_user, e.user, id);
        }
    }

    /// Moves a socket to `team` (or out of any): it gets that team's events
    /// only from now on.
    pub fn retag(&self, id: u64, team: Option<Uuid>) {
        let mut ix = self.lock();
        let Some(old) = ix
            .sockets
            .get_mut(&id)
            .map(|e| std::mem::replace(&mut e.team, team))
        else {
            return;
        };
        if let Some(t) = old {
            remove_from(&mut ix.by_team, t, id);
        }
        if let Some(t) = team {
            ix.by_team.entry(t).or_default().insert(id);
        }
    }

    /// Sends `frame` to every socket of the audience's team and of its
    /// users (each once).
    pub fn deliver(&self, audience: &Audience, frame: &ByteString) -> usize {
        let ix = self.lock();
        let mut targets: HashSet<u64> = HashSet::new();
        if let Some(t) = audience.team
            && let Some(ids) = ix.by_team.get(&t)
        {
            targets.extend(ids);
        }
        for u in &audience.users {
            if let Some(ids) = ix.by_user.get(u) {
                targets.extend(ids);
            }
        }
        for id in &targets {
            if let Some(e) = ix.sockets.get(id)
                && let Err(Refused::Full) = e.outbox.wire.try_push(frame.clone())
            {
                e.outbox.close.request(CloseRequest::TOO_SLOW);
            }
        }
        targets.len()
    }

    /// Queues a presence change for the team's sockets (not the user's own).
    pub fn presence(&self, team: Uuid, user: Uuid, status: &str) {
        let ix = self.lock();
        let Some(ids) = ix.by_team.get(&team) else {
            return;
        };
        for id in ids {
            if let Some(e) = ix.sockets.get(id)
                && e.user != user
            {
                let mut pending = match e.outbox.presence.lock() {
                    Ok(p) => p,
                    Err(p) => p.into_inner(),
                };
                pending.insert(user, status.to_owned());
                drop(pending);
                e.outbox.notify.notify_one();
            }
        }
    }

    /// Tells every socket of `user` that the user's team changed. A socket
    /// of a team the user left is out of that team's audience at once, not
    /// when its task gets to the change: nothing of the team reaches it in
    /// between.
    pub fn team_changed(&self, user: Uuid, team: TeamMove) {
        let mut ix = self.lock();
        let ids: Vec<u64> = ix
            .by_user
            .get(&user)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for id in ids {
            if let TeamMove::Removed { team: left, .. } = &team
                && let Some(e) = ix.sockets.get_mut(&id)
                && e.team == Some(*left)
            {
                e.team = None;
                remove_from(&mut ix.by_team, *left, id);
            }
            if let Some(e) = ix.sockets.get(&id) {
                e.outbox.set_team_change(team.clone());
            }
        }
    }
}

fn remove_from(map: &mut HashMap<Uuid, HashSet<u64>>, key: Uuid, id: u64) {
    if let Some(set) = map.get_mut(&key) {
        set.remove(&id);
        if set.is_empty() {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team_only(team: Uuid) -> Audience {
        Audience::team_and_users(Some(team), [])
    }

    #[test]
    fn events_reach_their_audience_once_and_nobody_else() {
        let local = Local::default();
        let (team, other_team) = (Uuid::new_v4(), Uuid::new_v4());
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let ia = local.register(1, a, Some(team), Outbox::new(8), CloseSignal::new());
        let ib = local.register(2, b, Some(other_team), Outbox::new(8), CloseSignal::new());
        let ic = local.register(3, c, None, Outbox::new(8), CloseSignal::new());
        let frame = ByteString::from("x");
        assert_eq!(
            local.deliver(&Audience::team_and_users(Some(team), [a, c]), &frame),
            2
        );
        assert_eq!(ia.wire.len(), 1, "once, though named twice");
        assert!(ib.wire.is_empty(), "never another team");
        assert_eq!(ic.wire.len(), 1);
    }

    #[test]
    fn presence_changes_coalesce_per_socket_and_skip_the_user_themself() {
        let local = Local::default();
        let team = Uuid::new_v4();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ia = local.register(1, a, Some(team), Outbox::new(8), CloseSignal::new());
        let ib = local.register(2, b, Some(team), Outbox::new(8), CloseSignal::new());
        local.presence(team, b, "online");
        local.presence(team, b, "away");
        let pa = ia.presence.lock().map(|p| p.clone()).unwrap_or_default();
        assert_eq!(pa.len(), 1);
        assert_eq!(pa.get(&b).map(String::as_str), Some("away"));
        assert!(ib.presence.lock().map(|p| p.is_empty()).unwrap_or(false));
    }

    #[test]
    fn a_socket_whose_queue_is_full_is_told_to_close_and_the_others_still_receive() {
        let local = Local::default();
        let team = Uuid::new_v4();
        let (slow_close, fast_close) = (CloseSignal::new(), CloseSignal::new());
        let slow = local.register(
            1,
            Uuid::new_v4(),
            Some(team),
            Outbox::new(2),
            slow_close.clone(),
        );
        let fast = local.register(
            2,
            Uuid::new_v4(),
            Some(team),
            Outbox::new(2),
            fast_close.clone(),
        );
        for _ in 0..3 {
            local.deliver(&team_only(team), &ByteString::from("x"));
            fast.wire.take_texts();
        }
        assert_eq!(slow_close.requested(), Some(CloseRequest::TOO_SLOW));
        assert_eq!(slow.wire.len(), 2, "nothing past the bound");
        assert_eq!(fast_close.requested(), None);
    }

    #[test]
    fn a_team_change_reaches_every_socket_of_the_user_and_wakes_it() {
        let local = Local::default();
        let (user, team) = (Uuid::new_v4(), Uuid::new_v4());
        let tabs =
            [1, 2].map(|id| local.register(id, user, None, Outbox::new(4), CloseSignal::new()));
        let other = local.register(3, Uuid::new_v4(), None, Outbox::new(4), CloseSignal::new());
        local.team_changed(user, TeamMove::Joined(team));
        for tab in &tabs {
            assert_eq!(tab.take_team_change(), Some(TeamMove::Joined(team)));
            assert_eq!(tab.take_team_change(), None, "taken once");
            let woken = futures_util::FutureExt::now_or_never(tab.notify.notified());
            assert!(woken.is_some(), "the socket is woken");
        }
        assert_eq!(other.take_team_change(), None);
    }

    #[test]
    fn a_retagged_socket_receives_its_new_teams_events() {
        let local = Local::default();
        let team = Uuid::new_v4();
        let a = Uuid::new_v4();
        let ia = local.register(1, a, None, Outbox::new(8), CloseSignal::new());
        local.retag(1, Some(team));
        local.deliver(&team_only(team), &ByteString::from("x"));
        assert_eq!(ia.wire.len(), 1);
        local.retag(1, None);
        local.deliver(&team_only(team), &ByteString::from("y"));
        assert_eq!(ia.wire.len(), 1, "out of the team: none of its events");
        local.unregister(1);
        assert_eq!(
            local.deliver(
                &Audience::team_and_users(Some(team), [a]),
                &ByteString::from("y")
            ),
            0
        );
    }

    #[test]
    fn a_team_removal_takes_the_users_sockets_out_of_that_team_at_once() {
        let local = Local::default();
        let (team, other_team) = (Uuid::new_v4(), Uuid::new_v4());
        let (gone, mate, elsewhere) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let tabs = [1, 2]
            .map(|id| local.register(id, gone, Some(team), Outbox::new(8), CloseSignal::new()));
        let imate = local.register(3, mate, Some(team), Outbox::new(8), CloseSignal::new());
        // The same user's socket still in another team (a later join) stays.
        let moved = local.register(
            4,
            gone,
            Some(other_team),
            Outbox::new(8),
            CloseSignal::new(),
        );
        let iel = local.register(
            5,
            elsewhere,
            Some(other_team),
            Outbox::new(8),
            CloseSignal::new(),
        );
        let frame = ByteString::from(r#"{"type":"team_removed"}"#);
        local.team_changed(
            gone,
            TeamMove::Removed {
                team,
                frame: frame.clone(),
            },
        );
        for tab in tabs.iter().chain([&moved]) {
            assert_eq!(
                tab.take_team_change(),
                Some(TeamMove::Removed {
                    team,
                    frame: frame.clone()
                })
            );
        }
        assert_eq!(imate.take_team_change(), None);
        local.deliver(&team_only(team), &ByteString::from("x"));
        local.presence(team, mate, "away");
        for tab in &tabs {
            assert!(tab.wire.is_empty(), "a team event after the removal");
            assert!(tab.presence.lock().map(|p| p.is_empty()).unwrap_or(false));
        }
        assert_eq!(imate.wire.len(), 1, "the teammates still get it");
        local.deliver(&team_only(other_team), &ByteString::from("y"));
        assert_eq!(moved.wire.len(), 1, "not in the team it left");
        assert_eq!(iel.wire.len(), 1);
        // Named users still reach it: their own events (team_removed's list,
        // permissions_changed) are not the team's.
        local.deliver(&Audience::users([gone]), &ByteString::from("z"));
        assert_eq!(tabs[0].wire.len(), 1);
    }

    #[test]
    fn clearing_a_mailbox_drops_the_presence_changes_not_yet_sent() {
        let local = Local::default();
        let team = Uuid::new_v4();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ia = local.register(1, a, Some(team), Outbox::new(8), CloseSignal::new());
        local.presence(team, b, "online");
        ia.clear_presence();
        assert!(ia.presence.lock().map(|p| p.is_empty()).unwrap_or(false));
    }
}
