//! Syslog over a byte stream (RFC 6587): each message is either octet-counted
//! (`123 <34>1 ...`) or ends at a newline (non-transparent framing; a NUL
//! also ends one, as some senders use it). Senders may mix the two, so the
//! choice is made per message: a frame that starts with a digit run and a
//! space is octet-counted, since no syslog message starts that way.

/// The longest message accepted. A longer one is skipped whole and counted:
/// an octet-counted frame by its count, a newline-framed one up to its
/// newline. Its bytes are never buffered, so a sender cannot make the
/// watcher hold more than this per connection, and the frames after it are
/// read as sent.
pub const MAX_MESSAGE: usize = 1 << 20;

/// The longest octet count still taken for a real frame (and skipped when
/// over [`MAX_MESSAGE`]); a larger number is not a count but text.
const MAX_COUNTED_SKIP: usize = 1 << 30;

/// Frames cut out of a stream, fed in pieces of any size.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
    start: usize,
    /// Frames longer than [`MAX_MESSAGE`], skipped.
    pub oversized: u64,
    /// Octet counts that were not numbers a frame can have.
    pub bad_counts: u64,
    /// What is left of an oversized frame being skipped.
    skipping: Skip,
    /// Where the search for the current frame's newline goes on from: bytes
    /// before it were searched already, so a sender trickling a long line a
    /// byte at a time costs linear time, not quadratic.
    scanned: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Skip {
    #[default]
    No,
    /// This many more bytes of an octet-counted frame.
    Bytes(usize),
    /// Everything up to and including the next newline or NUL.
    ToNewline,
}

/// One frame: the message bytes.
pub type Frame<'a> = &'a [u8];

impl Deframer {
    /// An empty deframer.
    pub fn new() -> Deframer {
        Deframer::default()
    }

    /// Appends bytes received.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        match self.skipping {
            Skip::No => {}
            Skip::Bytes(n) => {
                let take = n.min(bytes.len());
                bytes = &bytes[take..];
                self.skipping = if take == n {
                    Skip::No
                } else {
                    Skip::Bytes(n - take)
                };
            }
            Skip::ToNewline => match bytes.iter().position(|b| matches!(b, b'\n' | b'\0')) {
                Some(end) => {
                    bytes = &bytes[end + 1..];
                    self.skipping = Skip::No;
                }
                None => bytes = &[],
            },
        }
        if bytes.is_empty() {
            return;
        }
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.scanned = 0;
        } else if self.start > self.buf.len() / 2 && self.start > 64 * 1024 {
            self.buf.drain(..self.start);
            self.scanned = self.scanned.saturating_sub(self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet part of a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next whole frame, if one has arrived.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        loop {
            let rest = &self.buf[self.start..];
            // Blank separators between frames carry nothing.
            let skip = rest
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r' | b'\0'))
                .count();
            if skip > 0 {
                self.start += skip;
                continue;
            }
            if rest.is_empty() {
                return None;
            }
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 0 && rest.get(digits) == Some(&b' ') {
                let len = std::str::from_utf8(&rest[..digits])
                    .ok()
                    .and_then(|d| d.parse::<usize>().ok());
                match len {
                    Some(n) if n <= MAX_MESSAGE => {
                        let from = self.start + digits + 1;
                        if self.buf.len() < from + n {
                            return None;
                        }
                        self.start = from + n;
                        return Some(&self.buf[from..from + n]);
                    }
                    Some(n) if n <= MAX_COUNTED_SKIP => {
                        // A real count, too long to take: skip exactly that many bytes.
                        self.oversized += 1;
                        let from = self.start + digits + 1;
                        let held = self.buf.len() - from;
                        if held >= n {
                            self.start = from + n;
                        } else {
                            self.start = self.buf.len();
                            self.skipping = Skip::Bytes(n - held);
                        }
                        continue;
                    }
                    _ => {
                        // Not a count a frame can have: read it as newline framing.
                        self.bad_counts += 1;
                    }
                }
            } else if digits == rest.len() && digits < 10 {
                // Maybe the start of an octet count: wait for more.
                return None;
            }
            let rest = &self.buf[self.start..];
            let searched = self.scanned.saturating_sub(self.start).min(rest.len());
            let newline = memchr::memchr2(b'\n', b'\0', &rest[searched..]).map(|i| searched + i);
            match newline {
                Some(end) if end > MAX_MESSAGE => {
                    self.oversized += 1;
                    self.start += end + 1;
                }
                Some(end) => {
                    let from = self.start;
                    self.start += end + 1;
                    let mut frame = &self.buf[from..from + end];
                    if let Some(f) = frame.strip_suffix(b"\r") {
                        frame = f;
                    }
                    return Some(frame);
                }
                None if rest.len() > MAX_MESSAGE => {
                    self.oversized += 1;
                    self.start = self.buf.len();
                    self.skipping = Skip::ToNewline;
                    return None;
                }
                None => {
                    self.scanned = self.buf.len();
                    return None;
                }
            }
        }
    }

    /// What is left when the stream ends: a last message without its newline.
    pub fn finish(&mut self) -> Option<Frame<'_>> {
        if self.skipping != Skip::No {
            return None;
        }
        let rest = &self.buf[self.start..];
        if rest.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
            return None;
        }
        let from = self.start;
        self.start = self.buf.len();
        Some(&self.buf[from..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(d: &mut Deframer) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(f) = d.next_frame() {
            out.push(f.to_vec());
        }
        out
    }

    #[test]
    fn octet_counting_and_newlines_mixed() {
        let mut d = Deframer::new();
        d.feed(b"11 <13>1 hello\n<13>plain line\r\n5 ab\ncd<13>x\0");
        assert_eq!(
            frames(&mut d),
            vec![
                b"<13>1 hello".to_vec(),
                b"<13>plain line".to_vec(),
                b"ab\ncd".to_vec(),
                b"<13>x".to_vec()
            ]
        );
    }

    #[test]
    fn partial_frames_wait_for_the_rest() {
        let mut d = Deframer::new();
        d.feed(b"11");
        assert!(d.next_frame().is_none());
        d.feed(b" <1>1 abc");
        assert!(d.next_frame().is_none());
        d.feed(b"def");
        assert_eq!(d.next_frame(), Some(&b"<1>1 abcdef"[..]));
        d.feed(b"tail without newline");
        assert!(d.next_frame().is_none());
        assert_eq!(d.finish(), Some(&b"tail without newline"[..]));
    }

    #[test]
    fn a_huge_count_is_read_as_newline_framing() {
        let mut d = Deframer::new();
        d.feed(b"99999999999 x\n");
        assert_eq!(frames(&mut d), vec![b"99999999999 x".to_vec()]);
        assert_eq!(d.bad_counts, 1);
    }

    /// See issue 13 item 2: a 1.5 MB octet-counted message (replay's default
    /// framing) took the frames after it with it. Skipped exactly, counted,
    /// and the next frames are read as sent, however the reads are cut.
    #[test]
    fn oversized_frames_are_skipped_whole_in_both_framings() {
        let big = vec![b'A'; MAX_MESSAGE + 500_000];
        let mut stream = Vec::new();
        stream.extend(b"6 <13>a1");
        stream.extend(format!("{} ", big.len()).bytes());
        stream.extend(&big);
        stream.extend(b"6 <13>a2<13>b1\n");
        stream.extend(&big);
        stream.extend(b"\n<13>b2\n");
        for cut in [1usize, 7, 4096, 256 * 1024, stream.len()] {
            let mut d = Deframer::new();
            let mut got = Vec::new();
            let mut most_held = 0;
            for piece in stream.chunks(cut) {
                d.feed(piece);
                most_held = most_held.max(d.pending());
                got.extend(frames(&mut d));
            }
            assert!(d.finish().is_none());
            // Shown by length and start, so a failure does not print megabytes.
            let shown: Vec<(usize, String)> = got
                .iter()
                .map(|f| {
                    (
                        f.len(),
                        String::from_utf8_lossy(&f[..f.len().min(8)]).into_owned(),
                    )
                })
                .collect();
            let want: Vec<(usize, String)> = ["<13>a1", "<13>a2", "<13>b1", "<13>b2"]
                .iter()
                .map(|f| (f.len(), f.to_string()))
                .collect();
            assert_eq!(shown, want, "cut {cut}");
            assert_eq!((d.oversized, d.bad_counts), (2, 0), "cut {cut}");
            assert!(
                most_held <= MAX_MESSAGE + cut,
                "cut {cut}: held {most_held}"
            );
        }
    }

    proptest! {
        /// However the stream is cut into reads, the same frames come out.
        #[test]
        fn chunking_does_not_change_frames(
            msgs in proptest::collection::vec("<[0-9]{1,3}>[ -~]{0,40}", 1..20),
            counted in proptest::collection::vec(any::<bool>(), 20),
            cuts in proptest::collection::vec(1usize..17, 1..40),
        ) {
            let mut stream = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                if counted[i] {
                    stream.extend(format!("{} {m}", m.len()).bytes());
                } else {
                    stream.extend(m.bytes());
                    stream.push(b'\n');
                }
            }
            let mut d = Deframer::new();
            let mut got = Vec::new();
            let mut at = 0;
            for c in cuts.iter().cycle() {
                if at >= stream.len() { break; }
                let end = (at + c).min(stream.len());
                d.feed(&stream[at..end]);
                at = end;
                got.extend(frames(&mut d));
            }
            if let Some(f) = d.finish() { got.push(f.to_vec()); }
            let want: Vec<Vec<u8>> = msgs.iter().map(|m| m.trim_end_matches(['\r']).as_bytes().to_vec()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
