//! Text that is shown to users as a claim about who is asking (client names,
//! client URIs on the consent page) must read the way it is stored.
//!
//! Bidirectional controls reorder what follows them (Trojan Source,
//! CVE-2021-42574; Unicode TR #9), and default-ignorable code points are
//! invisible (Unicode TR #44 `Default_Ignorable_Code_Point`), so either can
//! make "Bank wants to access your account" show something other than the
//! stored bytes. Such text is refused, not cleaned, so the owner sees why.

/// Whether `c` is a bidirectional formatting character (Unicode TR #9 §2):
/// ALM, LRM, RLM, the embeddings and overrides, the isolates.
#[must_use]
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` has the Unicode property `Default_Ignorable_Code_Point`
/// (DerivedCoreProperties.txt, Unicode 15): rendered as nothing at all.
#[must_use]
pub fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether `c` may not appear in text shown as a claim: control characters
/// (C0, DEL, C1), bidi controls, default-ignorable code points, and the
/// line and paragraph separators.
#[must_use]
pub fn is_deceptive(c: char) -> bool {
    c.is_control()
        || is_bidi_control(c)
        || is_default_ignorable(c)
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The first character of `text` that [`is_deceptive`], if any.
#[must_use]
pub fn first_deceptive(text: &str) -> Option<char> {
    text.chars().find(|c| is_deceptive(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_invisible_characters_are_deceptive() {
        for c in [
            '\u{061C}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2060}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{00AD}',
            '\u{034F}',
            '\u{115F}',
            '\u{3164}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{FFA0}',
            '\u{180E}',
            '\u{1BCA0}',
            '\u{1D173}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{0000}',
            '\u{0007}',
            '\u{007F}',
            '\u{0085}',
            '\u{009F}',
            '\n',
            '\t',
            '\u{2028}',
        ] {
            assert!(is_deceptive(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn ordinary_text_in_any_script_is_not() {
        for text in [
            "My App",
            "Café Ünïcødé",
            "日本語のアプリ",
            "تطبيق",
            "עברית",
            "Ελληνικά",
            "emoji 🚀",
            "a-b_c.d (e) & f",
        ] {
            assert_eq!(first_deceptive(text), None, "{text}");
        }
    }
}
