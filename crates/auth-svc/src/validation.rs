//! The contract's field rules for registration, each failure a 422 naming
//! its field.

use majlis_errors::ApiError;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Control (Cc) and format (Cf) characters: invisible, and the format ones
/// (bidi overrides such as U+202E, zero-width spaces and joiners, the BOM,
/// tag characters) make one name look like another or reorder the text
/// around it. The table is the `unicode-properties` crate's, Unicode 18.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control | GeneralCategory::Format
    )
}

/// `^[a-z0-9][a-z0-9._-]{2,31}$`
pub fn username(v: &str) -> Result<(), ApiError> {
    let bytes = v.as_bytes();
    let ok = (3..=32).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase() | bytes[0].is_ascii_digit()
        && bytes[1..].iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "username",
            "must be 3-32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
        ))
    }
}

/// 8–128 characters (not bytes: a passphrase in Arabic is as long as it looks).
pub fn password(v: &str) -> Result<(), ApiError> {
    let n = v.chars().count();
    if (8..=128).contains(&n) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "password",
            "must be 8 to 128 characters",
        ))
    }
}

/// 1–64 characters after trimming, none of them control or format
/// characters (see [`is_invisible`]).
pub fn display_name(v: &str) -> Result<(), ApiError> {
    let n = v.chars().count();
    if (1..=64).contains(&n) && !v.chars().any(is_invisible) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "display_name",
            "must be 1 to 64 characters without control or invisible formatting characters",
        ))
    }
}

/// A deliberately plain check: one `@`, a non-empty local part, a dotted
/// domain, no spaces, at most 254 characters. Deliverability is the mail
/// server's business.
pub fn email(v: &str) -> Result<(), ApiError> {
    let ok = v.len() <= 254
        && !v.chars().any(|c| c.is_whitespace() || is_invisible(c))
        && match v.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field("email", "must be an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_contract_pattern() {
        for ok in ["abc", "a.b", "user_1", "0day", "a-b-c", &"x".repeat(32)] {
            assert!(username(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "ab",
            "Abc",
            "_abc",
            ".abc",
            "a b",
            "ab€",
            &"x".repeat(33),
            "",
        ] {
            assert!(username(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
        assert!(password(&"ع".repeat(100)).is_ok());
        assert!(password(&"a".repeat(129)).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(email("amira@example.org").is_ok());
        for bad in [
            "amira",
            "@example.org",
            "amira@example",
            "a@@b.c",
            "a b@c.d",
            "a@.c",
            "a@c.",
        ] {
            assert!(email(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn display_names_are_one_to_sixty_four_characters() {
        assert!(display_name("Amira").is_ok());
        assert!(display_name("").is_err());
        assert!(display_name(&"x".repeat(65)).is_err());
        assert!(display_name("bad\u{0007}name").is_err());
    }

    #[test]
    fn display_names_refuse_bidi_overrides_and_zero_width_characters() {
        // RLO, LRI, zero-width space / joiner / non-joiner, word joiner, BOM,
        // soft hyphen, Arabic letter mark, a tag character, and DEL (Cc).
        for c in [
            '\u{202E}',
            '\u{2066}',
            '\u{200B}',
            '\u{200D}',
            '\u{200C}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{061C}',
            '\u{E0041}',
            '\u{007F}',
        ] {
            assert!(
                display_name(&format!("ami{c}ra")).is_err(),
                "U+{:04X} should be refused",
                u32::from(c)
            );
        }
        // Letters and marks of any script stay welcome.
        for ok in ["أميرة", "Zoë", "李小龙", "नमस्ते", "Amira 🌙"] {
            assert!(display_name(ok).is_ok(), "{ok} should be accepted");
        }
    }

    #[test]
    fn emails_refuse_invisible_characters() {
        assert!(email("ami\u{200B}ra@example.org").is_err());
    }
}
