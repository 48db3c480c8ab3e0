//! The events a run can use, by channel (or provider) and event id. An EVTX
//! record of any other kind is read only as far as its System part (time,
//! host, channel, provider, ids): it is still counted and dated, but its event
//! data, most of the work of reading it, is passed over.

/// A union of log sources: `(channel, provider)` pairs, each with the event
/// ids wanted from it (none: every id). An event with a channel is judged by
/// its channel (without case), one without by its provider: the rule the
/// router and the process-creation test follow, so a record this passes over
/// is one neither would have taken.
#[derive(Clone, Debug, Default)]
pub struct Wanted {
    channels: Vec<(String, Ids)>,
    providers: Vec<(String, Ids)>,
    /// Event ids wanted whatever the channel (`None`: none).
    anywhere: Option<Ids>,
}

#[derive(Clone, Debug, PartialEq)]
enum Ids {
    Any,
    /// Sorted, without repeats.
    Some(Vec<i64>),
}

impl Ids {
    fn of(ids: &[i64]) -> Ids {
        if ids.is_empty() {
            return Ids::Any;
        }
        let mut v = ids.to_vec();
        v.sort_unstable();
        v.dedup();
        Ids::Some(v)
    }

    fn join(&mut self, other: Ids) {
        match (&mut *self, other) {
            (Ids::Any, _) => {}
            (_, Ids::Any) => *self = Ids::Any,
            (Ids::Some(a), Ids::Some(b)) => {
                a.extend(b);
                a.sort_unstable();
                a.dedup();
            }
        }
    }

    fn admits(&self, id: Option<i64>) -> bool {
        match self {
            Ids::Any => true,
            Ids::Some(v) => id.is_some_and(|i| v.binary_search(&i).is_ok()),
        }
    }
}

fn add(list: &mut Vec<(String, Ids)>, name: &str, ids: Ids) {
    let name = name.to_ascii_lowercase();
    match list.iter_mut().find(|(n, _)| *n == name) {
        Some((_, have)) => have.join(ids),
        None => list.push((name, ids)),
    }
}

impl Wanted {
    /// Nothing yet.
    pub fn new() -> Wanted {
        Wanted::default()
    }

    /// Also the events of `channel` (empty: none by channel) or, for events
    /// without a channel, of `provider` (empty: none by provider), with these
    /// event ids (none: every id).
    pub fn add(&mut self, channel: &str, provider: &str, ids: &[i64]) {
        if !channel.is_empty() {
            add(&mut self.channels, channel, Ids::of(ids));
        }
        if !provider.is_empty() {
            add(&mut self.providers, provider, Ids::of(ids));
        }
    }

    /// Also the events of every channel and provider with these event ids
    /// (none: every event; then nothing is passed over).
    pub fn add_anywhere(&mut self, ids: &[i64]) {
        match &mut self.anywhere {
            Some(have) => have.join(Ids::of(ids)),
            None => self.anywhere = Some(Ids::of(ids)),
        }
    }

    /// Also the process creations a run joins to other events (Sysmon 1,
    /// Security 4688), as `portent_io::correlate` recognises them.
    pub fn add_process_creations(&mut self) {
        self.add(
            "Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-Sysmon",
            &[1],
        );
        self.add("Security", "Microsoft-Windows-Security-Auditing", &[4688]);
    }

    /// True when an event of this channel, provider and event id may be used.
    /// An empty channel is one the readers disagree on (the router reads it
    /// as a channel, the creation test as none): such an event is wanted.
    pub fn wants(&self, channel: Option<&str>, provider: Option<&str>, id: Option<i64>) -> bool {
        if self.anywhere.as_ref().is_some_and(|ids| ids.admits(id)) {
            return true;
        }
        let (list, name) = match (channel, provider) {
            (Some(""), _) => return true,
            (Some(c), _) => (&self.channels, c),
            (None, Some(p)) => (&self.providers, p),
            (None, None) => return false,
        };
        list.iter()
            .any(|(n, ids)| n.eq_ignore_ascii_case(name) && ids.admits(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_without_case_then_providers_then_ids() {
        let mut w = Wanted::new();
        w.add(
            "Security",
            "Microsoft-Windows-Security-Auditing",
            &[4625, 4624],
        );
        w.add("security", "", &[4688]);
        w.add("", "PowerShell", &[]);
        assert!(w.wants(Some("SECURITY"), None, Some(4688)));
        assert!(w.wants(Some("Security"), Some("x"), Some(4624)));
        assert!(!w.wants(Some("Security"), None, Some(4689)));
        assert!(
            !w.wants(Some("Security"), None, None),
            "ids named, none given"
        );
        // A channel decides, whatever the provider says.
        assert!(!w.wants(Some("System"), Some("PowerShell"), Some(1)));
        // Without a channel, the provider.
        assert!(w.wants(None, Some("powershell"), None));
        assert!(w.wants(
            None,
            Some("Microsoft-Windows-Security-Auditing"),
            Some(4625)
        ));
        assert!(!w.wants(
            None,
            Some("Microsoft-Windows-Security-Auditing"),
            Some(4688)
        ));
        assert!(!w.wants(None, None, Some(1)));
        assert!(w.wants(Some(""), None, None));
    }

    #[test]
    fn any_id_wins_over_a_list() {
        let mut w = Wanted::new();
        w.add("System", "", &[7045]);
        assert!(!w.wants(Some("System"), None, Some(1)));
        w.add("system", "", &[]);
        assert!(w.wants(Some("System"), None, Some(1)));
        w.add("SYSTEM", "", &[7045]);
        assert!(w.wants(Some("System"), None, None));
    }

    #[test]
    fn ids_anywhere() {
        let mut w = Wanted::new();
        w.add("Security", "", &[4624]);
        w.add_anywhere(&[7045]);
        assert!(w.wants(Some("System"), None, Some(7045)));
        assert!(w.wants(None, None, Some(7045)));
        assert!(!w.wants(Some("System"), None, Some(4624)));
        assert!(!w.wants(None, None, None));
        w.add_anywhere(&[]);
        assert!(w.wants(None, None, None));
    }

    #[test]
    fn process_creations_as_the_join_reads_them() {
        let mut w = Wanted::new();
        w.add_process_creations();
        for (c, p, id) in [
            (Some("Microsoft-Windows-Sysmon/Operational"), None, 1),
            (None, Some("Microsoft-Windows-Sysmon"), 1),
            (Some("Security"), None, 4688),
            (None, Some("Microsoft-Windows-Security-Auditing"), 4688),
        ] {
            assert!(w.wants(c, p, Some(id)), "{c:?} {p:?}");
            assert_eq!(
                crate::windows::kind(Some(id), c, p) != crate::windows::Kind::Other,
                w.wants(c, p, Some(id))
            );
            assert!(!w.wants(c, p, Some(id + 1)));
        }
    }
}
