//! Just enough XML for `<EventData><Data Name="...">value</Data>...</EventData>`,
//! the form Azure's `SecurityEvent.EventData` column and WinCollect payloads carry.

/// The `Name`d `Data` elements of an `EventData` fragment, values unescaped.
/// Malformed parts are skipped; what can be read is returned.
pub fn event_data_xml(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("<Data") {
        rest = &rest[i + 5..];
        let Some(end_tag) = rest.find('>') else { break };
        let tag = &rest[..end_tag];
        let self_closing = tag.ends_with('/');
        let name = attribute(tag, "Name");
        rest = &rest[end_tag + 1..];
        let value = if self_closing {
            String::new()
        } else {
            match rest.find("</Data>") {
                Some(j) => {
                    let v = unescape(&rest[..j]);
                    rest = &rest[j + 7..];
                    v
                }
                None => break,
            }
        };
        if let Some(n) = name {
            out.push((n, value));
        }
    }
    out
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let i = tag.find(name)?;
    let after = tag[i + name.len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &after[1..];
    let end = body.find(quote)?;
    Some(unescape(&body[..end]))
}

/// XML's five entities and numeric character references.
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|j| *j <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16).ok())
                .unwrap_or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_named_data_and_entities() {
        let x = r#"<EventData xmlns="x"><Data Name="A">1 &lt; 2</Data><Data Name='B'/><Data>anon</Data><Data Name="C">&#x41;&#66;&bogus;</Data></EventData>"#;
        assert_eq!(
            event_data_xml(x),
            vec![
                ("A".into(), "1 < 2".into()),
                ("B".into(), String::new()),
                ("C".into(), "AB&bogus;".into())
            ]
        );
        assert!(event_data_xml("<Data Name=\"A\">unterminated").is_empty());
    }
}
