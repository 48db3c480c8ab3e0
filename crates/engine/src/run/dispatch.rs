//! Rules indexed by channel, provider and event id: an event is tested only
//! against the queries whose log source can hold it, so thousands of Sigma
//! rules cost an event a lookup and a few tests, not thousands. Batch (`hunt`)
//! and stream (`watch`) route events the same way.

use portent_core::schema::ids;
use portent_core::Event;
use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

/// Which events a log source can hold, by channel (or, for events without
/// a channel, provider) and event id: a superset of its condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dispatch {
    /// `(channel, provider)`, lower case; an empty provider matches nothing.
    pub channels: Vec<(&'static str, &'static str)>,
    /// Event ids (empty: any).
    pub event_ids: Vec<u32>,
}

impl Dispatch {
    /// Events of these channels with these event ids (none: any id).
    pub fn of(cs: &[(&'static str, &'static str)], ids: &[u32]) -> Dispatch {
        Dispatch {
            channels: cs.to_vec(),
            event_ids: ids.to_vec(),
        }
    }

    /// Both (or more).
    pub fn or(mut self, other: Dispatch) -> Dispatch {
        let any_id = self.event_ids.is_empty() || other.event_ids.is_empty();
        self.channels.extend(other.channels);
        self.event_ids.extend(other.event_ids);
        if any_id {
            self.event_ids.clear();
        }
        self
    }

    /// The events of this log source `query` can be TRUE for: its event ids
    /// narrowed to those the query's condition requires. SigmaHQ's `service`
    /// log sources name a channel only (every Security rule would otherwise
    /// be tried on every Security event); their conditions name the ids.
    pub fn narrowed(mut self, query: &crate::query::Query) -> Dispatch {
        let Some(need) = query.event_ids() else {
            return self;
        };
        let Ok(need) = need
            .iter()
            .map(|n| u32::try_from(*n))
            .collect::<Result<Vec<u32>, _>>()
        else {
            return self;
        };
        if self.event_ids.is_empty() {
            self.event_ids = need;
        } else {
            self.event_ids.retain(|i| need.contains(i));
        }
        if self.event_ids.is_empty() {
            // No id both allow: nothing can match.
            self.channels.clear();
        }
        self
    }

    /// True when an event with this channel, provider and event id may be
    /// of the log source, as the condition reads them: the channel compared
    /// without case, the provider only when there is no channel.
    pub fn admits(
        &self,
        channel: Option<&str>,
        provider: Option<&str>,
        event_id: Option<i64>,
    ) -> bool {
        let place = match channel {
            Some(c) => self.channels.iter().any(|(x, _)| x.eq_ignore_ascii_case(c)),
            None => provider.is_some_and(|p| {
                self.channels
                    .iter()
                    .any(|(_, x)| !x.is_empty() && x.eq_ignore_ascii_case(p))
            }),
        };
        place
            && (self.event_ids.is_empty()
                || event_id.is_some_and(|e| self.event_ids.iter().any(|i| i64::from(*i) == e)))
    }
}

/// An event's channel, provider and event id.
type RouteKey = (Option<String>, Option<String>, Option<i64>);

/// Which queries may match an event, by its channel, provider and event id,
/// worked out once per distinct triple (a log holds few).
pub struct Router<'d> {
    dispatch: Cow<'d, [Option<Dispatch>]>,
    /// Queries with no dispatch: tested on every event.
    always: Vec<usize>,
    routes: HashMap<RouteKey, Rc<[usize]>>,
    /// The route of the event before.
    last: Option<(RouteKey, Rc<[usize]>)>,
}

impl<'d> Router<'d> {
    /// A router over `queries` queries, the first of which have the log
    /// sources of `dispatch` (missing or `None`: every event).
    pub fn new(dispatch: impl Into<Cow<'d, [Option<Dispatch>]>>, queries: usize) -> Router<'d> {
        let dispatch = dispatch.into();
        let always = (0..queries)
            .filter(|i| dispatch.get(*i).is_none_or(Option::is_none))
            .collect();
        Router {
            dispatch,
            always,
            routes: HashMap::new(),
            last: None,
        }
    }

    /// The queries to test on `ev`, ascending.
    pub fn route<E: Event + ?Sized>(&mut self, ev: &E) -> Rc<[usize]> {
        let (channel, provider) = (ev.get(ids::CHANNEL), ev.get(ids::PROVIDER));
        let (channel, provider) = (channel.as_str(), provider.as_str());
        let event_id = ev.get(ids::EVENT_ID).to_i64();
        // Consecutive events mostly share their triple: compared borrowed,
        // without building a key.
        if let Some((k, r)) = &self.last {
            if k.0.as_deref() == channel && k.1.as_deref() == provider && k.2 == event_id {
                return r.clone();
            }
        }
        let key = (
            channel.map(str::to_owned),
            provider.map(str::to_owned),
            event_id,
        );
        if let Some(r) = self.routes.get(&key) {
            let r = r.clone();
            self.last = Some((key, r.clone()));
            return r;
        }
        let mut list: Vec<usize> = self
            .dispatch
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.as_ref()
                    .is_some_and(|d| d.admits(key.0.as_deref(), key.1.as_deref(), key.2))
            })
            .map(|(i, _)| i)
            .chain(self.always.iter().copied())
            .collect();
        list.sort_unstable();
        let list: Rc<[usize]> = list.into();
        self.routes.insert(key.clone(), list.clone());
        self.last = Some((key, list.clone()));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::{Record, Value};

    const SYSMON: (&str, &str) = (
        "microsoft-windows-sysmon/operational",
        "microsoft-windows-sysmon",
    );
    const SECURITY: (&str, &str) = ("security", "microsoft-windows-security-auditing");

    fn event(channel: Option<&str>, provider: Option<&str>, id: Option<i64>) -> Record<'static> {
        let mut r = Record::new();
        if let Some(c) = channel {
            r.set(ids::CHANNEL, Value::string(c.to_owned()));
        }
        if let Some(p) = provider {
            r.set(ids::PROVIDER, Value::string(p.to_owned()));
        }
        if let Some(i) = id {
            r.set(ids::EVENT_ID, Value::Int(i));
        }
        r
    }

    #[test]
    fn routes_by_channel_case_insensitively_then_provider_then_event_id() {
        let d = [
            Some(Dispatch::of(&[SYSMON], &[1]).or(Dispatch::of(&[SECURITY], &[4688]))),
            None,
            Some(Dispatch::of(&[SYSMON], &[])),
            Some(Dispatch::of(&[SECURITY], &[5156])),
        ];
        let mut r = Router::new(&d[..], 5);
        let sysmon1 = event(Some("Microsoft-Windows-Sysmon/Operational"), None, Some(1));
        assert_eq!(&*r.route(&sysmon1), &[0, 1, 2, 4]);
        assert_eq!(
            &*r.route(&event(Some("Security"), None, Some(4688))),
            &[0, 1, 4]
        );
        assert_eq!(
            &*r.route(&event(Some("SECURITY"), None, Some(5156))),
            &[1, 3, 4]
        );
        // No channel: the provider decides; neither: only the rules for every event.
        let by_provider = event(None, Some("Microsoft-Windows-Sysmon"), Some(3));
        assert_eq!(&*r.route(&by_provider), &[1, 2, 4]);
        assert_eq!(&*r.route(&event(None, None, Some(1))), &[1, 4]);
        // An id-restricted source never admits an event without an id.
        assert_eq!(&*r.route(&event(Some("security"), None, None)), &[1, 4]);
        // The cached route of the event before is not reused for another triple.
        assert_eq!(&*r.route(&sysmon1), &[0, 1, 2, 4]);
        assert_eq!(
            &*r.route(&event(Some("Application"), None, Some(1))),
            &[1, 4]
        );
    }

    #[test]
    fn or_with_any_id_admits_any_id() {
        let d = Dispatch::of(&[SYSMON], &[1]).or(Dispatch::of(&[SECURITY], &[]));
        assert!(d.admits(Some("security"), None, Some(7)));
        assert!(d.admits(Some("microsoft-windows-sysmon/operational"), None, Some(7)));
    }
}
