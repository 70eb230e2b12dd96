//! What a terminal may be shown of text from outside (hosts, paths,
//! accounts, configuration values, forge answers, keychain errors): every
//! character that would act instead of showing itself is written as an
//! escape. It sits below everything that writes for a person, the trace
//! included, so that one function decides for all of them.

/// Control characters (C0, DEL, C1) and Unicode format characters shown as
/// escapes (`\u{1b}`, `\u{202e}`), so that a value from a file or a server
/// can neither move the cursor or change a terminal's title nor reorder
/// what is read after it (a right-to-left override) or hide itself (a
/// zero-width character).
pub fn escape(text: &str) -> String {
    if !text.chars().any(acts) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if acts(c) {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Whether a terminal would act on `c` rather than show it: a control
/// character, a format character, or a line or paragraph separator.
pub fn acts(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode's general category Cf (format characters), as of Unicode 16:
/// the bidirectional marks, embeddings, overrides and isolates, zero-width
/// spaces and joiners, the byte-order mark, invisible operators, tags.
/// The standard library has no table of categories, and this one is short.
fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("github.com"), "github.com");
        assert_eq!(escape("evil\x1b]0;pwned\x07"), "evil\\u{1b}]0;pwned\\u{7}");
        assert_eq!(escape("a\nb"), "a\\nb");
        assert_eq!(escape("a\u{9b}b\u{7f}"), "a\\u{9b}b\\u{7f}");
    }

    #[test]
    fn format_characters_are_escaped() {
        for c in [
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{00ad}',
            '\u{e0041}',
            '\u{2028}',
        ] {
            let shown = escape(&format!("a{c}b"));
            assert_eq!(shown, format!("a\\u{{{:x}}}b", u32::from(c)));
        }
        // Letters of every script stay as they are.
        assert_eq!(escape("gitlab.bücher.de אבג"), "gitlab.bücher.de אבג");
    }
}
