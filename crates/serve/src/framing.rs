//! Syslog over a byte stream (RFC 6587): each message is either octet-counted
//! (`123 <34>1 ...`) or ends at a newline (non-transparent framing; a NUL
//! also ends one, as some senders use it). Senders may mix the two, so the
//! choice is made per message: a frame that starts with a digit run and a
//! space is octet-counted, since no syslog message starts that way.

/// The longest message accepted; a longer frame is cut here and counted.
pub const MAX_MESSAGE: usize = 1 << 20;

/// Frames cut out of a stream, fed in pieces of any size.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
    start: usize,
    /// Frames longer than [`MAX_MESSAGE`], cut to that length.
    pub oversized: u64,
    /// Octet counts that were not numbers a frame can have.
    pub bad_counts: u64,
}

/// One frame: the message bytes.
pub type Frame<'a> = &'a [u8];

impl Deframer {
    /// An empty deframer.
    pub fn new() -> Deframer {
        Deframer::default()
    }

    /// Appends bytes received.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.len() / 2 && self.start > 64 * 1024 {
            self.buf.drain(..self.start);
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
            match rest.iter().position(|b| matches!(b, b'\n' | b'\0')) {
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
                    let from = self.start;
                    self.start += MAX_MESSAGE;
                    return Some(&self.buf[from..from + MAX_MESSAGE]);
                }
                None => return None,
            }
        }
    }

    /// What is left when the stream ends: a last message without its newline.
    pub fn finish(&mut self) -> Option<Frame<'_>> {
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
