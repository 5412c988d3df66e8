//! This replica's presence sockets, indexed by team and by user, and the
//! delivery of events to them. Event frames go straight into the socket's
//! bounded `majlis_ws::Outbox`, its response body (a client that cannot keep
//! up is cut off); presence changes go to a per-socket map
//! that the socket flushes once per tick, so a storm of N changes costs each
//! socket a few `presence_batch` frames instead of N frames.

use bytestring::ByteString;
use majlis_ws::{Outbox, Refused};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

/// What a socket is told to do by the rest of the replica.
#[derive(Clone, Debug)]
pub enum Command {
    /// Its user joined a team: re-register presence and send the new list.
    TeamChanged(Uuid),
}

/// What the rest of the replica hands a socket besides event frames.
pub struct Mailbox {
    /// The socket's outbound frames (events go here directly).
    pub wire: Arc<Outbox>,
    /// user → latest status not yet sent.
    pub presence: Mutex<HashMap<Uuid, String>>,
    pub notify: Notify,
    pub commands: mpsc::Sender<Command>,
    /// Set when the queue overflowed: the socket closes with 1013.
    pub overflowed: std::sync::atomic::AtomicBool,
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

/// The receiving ends a socket task owns.
pub struct Inbox {
    pub commands: mpsc::Receiver<Command>,
    pub outbox: Arc<Mailbox>,
}

impl Local {
    fn lock(&self) -> MutexGuard<'_, Index> {
        match self.index.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn register(&self, id: u64, user: Uuid, team: Option<Uuid>, wire: Arc<Outbox>) -> Inbox {
        let (commands_tx, commands) = mpsc::channel(4);
        let outbox = Arc::new(Mailbox {
            wire,
            presence: Mutex::new(HashMap::new()),
            notify: Notify::new(),
            commands: commands_tx,
            overflowed: std::sync::atomic::AtomicBool::new(false),
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
        Inbox { commands, outbox }
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

    /// Moves a socket to `team`.
    pub fn retag(&self, id: u64, team: Uuid) {
        let mut ix = self.lock();
        let Some(old) = ix.sockets.get_mut(&id).map(|e| e.team.replace(team)) else {
            return;
        };
        if let Some(t) = old {
            remove_from(&mut ix.by_team, t, id);
        }
        ix.by_team.entry(team).or_default().insert(id);
    }

    /// Sends `frame` to every socket of the team and of the users (each once).
    pub fn deliver(&self, team: Option<Uuid>, users: &[Uuid], frame: &ByteString) -> usize {
        let ix = self.lock();
        let mut targets: HashSet<u64> = HashSet::new();
        if let Some(t) = team
            && let Some(ids) = ix.by_team.get(&t)
        {
            targets.extend(ids);
        }
        for u in users {
            if let Some(ids) = ix.by_user.get(u) {
                targets.extend(ids);
            }
        }
        for id in &targets {
            if let Some(e) = ix.sockets.get(id)
                && let Err(Refused::Full) = e.outbox.wire.try_push(frame.clone())
            {
                e.outbox
                    .overflowed
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                e.outbox.notify.notify_one();
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

    /// Tells every socket of `user` about a command.
    pub fn command(&self, user: Uuid, cmd: &Command) {
        let ix = self.lock();
        for id in ix.by_user.get(&user).into_iter().flatten() {
            if let Some(e) = ix.sockets.get(id) {
                let _ = e.outbox.commands.try_send(cmd.clone());
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

    #[test]
    fn events_reach_their_audience_once_and_nobody_else() {
        let local = Local::default();
        let (team, other_team) = (Uuid::new_v4(), Uuid::new_v4());
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let ia = local.register(1, a, Some(team), Outbox::new(8));
        let ib = local.register(2, b, Some(other_team), Outbox::new(8));
        let ic = local.register(3, c, None, Outbox::new(8));
        let frame = ByteString::from("x");
        assert_eq!(local.deliver(Some(team), &[a, c], &frame), 2);
        assert_eq!(ia.outbox.wire.len(), 1, "once, though named twice");
        assert!(ib.outbox.wire.is_empty(), "never another team");
        assert_eq!(ic.outbox.wire.len(), 1);
    }

    #[test]
    fn presence_changes_coalesce_per_socket_and_skip_the_user_themself() {
        let local = Local::default();
        let team = Uuid::new_v4();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ia = local.register(1, a, Some(team), Outbox::new(8));
        let ib = local.register(2, b, Some(team), Outbox::new(8));
        local.presence(team, b, "online");
        local.presence(team, b, "away");
        let pa = ia
            .outbox
            .presence
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default();
        assert_eq!(pa.len(), 1);
        assert_eq!(pa.get(&b).map(String::as_str), Some("away"));
        assert!(
            ib.outbox
                .presence
                .lock()
                .map(|p| p.is_empty())
                .unwrap_or(false)
        );
    }

    #[test]
    fn a_retagged_socket_receives_its_new_teams_events() {
        let local = Local::default();
        let team = Uuid::new_v4();
        let a = Uuid::new_v4();
        let ia = local.register(1, a, None, Outbox::new(8));
        local.retag(1, team);
        local.deliver(Some(team), &[], &ByteString::from("x"));
        assert_eq!(ia.outbox.wire.len(), 1);
        local.unregister(1);
        assert_eq!(local.deliver(Some(team), &[a], &ByteString::from("y")), 0);
    }
}
