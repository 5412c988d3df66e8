//! The contract's field rules. Each rule is a check that answers the
//! contract's 422 naming the field, and a JSON schema that documents what the
//! check accepts: every string the schema allows passes the check (a test
//! holds the two together), so a client that follows the OpenAPI document is
//! never refused, and the services share one wording per rule.
//!
//! Every rule refuses U+0000 (PostgreSQL cannot store it). Display names also
//! refuse control and format characters (Unicode Cc and Cf: bidi overrides,
//! zero-width characters, the BOM), which make one name look like another or
//! reorder the text around it.

use majlis_errors::ApiError;
use std::sync::LazyLock;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

/// Contract: usernames.
pub const USERNAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{2,31}$";
/// Contract: team and channel `name`.
pub const SLUG_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_CONTENT_CHARS: usize = 16_000;
pub const MAX_CLIENT_ID_CHARS: usize = 128;

const NO_NUL: &str = "must not contain the NUL character (U+0000)";

/// Control (Cc) and format (Cf) characters, by `unicode-properties`' tables.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control | GeneralCategory::Format
    )
}

/// The Cc and Cf characters as the inside of a regex character class, built
/// from the same table [`is_invisible`] reads, so the documents can never
/// drift from the check. BMP characters are `\uXXXX` escapes; the few
/// astral ones are written as themselves (a `\u{…}` escape is not portable
/// across regex dialects, a literal character is).
static INVISIBLE_CLASS: LazyLock<String> = LazyLock::new(|| {
    let mut ranges: Vec<(char, char)> = Vec::new();
    for c in (0..=0x10_FFFF_u32).filter_map(char::from_u32) {
        if !is_invisible(c) {
            continue;
        }
        match ranges.last_mut() {
            Some((_, end)) if u32::from(*end) + 1 == u32::from(c) => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    let one = |c: char| {
        if u32::from(c) <= 0xFFFF {
            format!("\\u{:04x}", u32::from(c))
        } else {
            c.to_string()
        }
    };
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                one(a)
            } else {
                format!("{}-{}", one(a), one(b))
            }
        })
        .collect()
});

fn string(pattern: String, min: usize, max: Option<usize>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(min))
        .max_length(max)
        .description(Some(description))
        .build()
}

/// `^[a-z0-9][a-z0-9._-]{2,31}$`.
pub fn username(v: &str) -> Result<(), ApiError> {
    let b = v.as_bytes();
    let ok = (3..=32).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b[1..].iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
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

pub fn username_schema() -> Object {
    string(
        USERNAME_PATTERN.to_owned(),
        3,
        Some(32),
        "3–32 characters of a-z, 0-9, `.`, `_`, `-`, starting with a letter or digit",
    )
}

/// A team's or a channel's `name`: `^[a-z0-9][a-z0-9_-]{0,63}$`.
pub fn slug(v: &str) -> Result<(), ApiError> {
    let b = v.as_bytes();
    let ok = (1..=64).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "name",
            "must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit",
        ))
    }
}

pub fn slug_schema() -> Object {
    string(
        SLUG_PATTERN.to_owned(),
        1,
        Some(64),
        "1–64 characters of a-z, 0-9, `_`, `-`, starting with a letter or digit",
    )
}

/// 8–128 characters (not bytes: a passphrase in Arabic is as long as it looks).
pub fn password(v: &str) -> Result<(), ApiError> {
    let n = v.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(ApiError::invalid_field(
            "password",
            "must be 8 to 128 characters",
        ));
    }
    not_nul("password", v)
}

pub fn password_schema() -> Object {
    string(
        "^[^\\u0000]*$".to_owned(),
        MIN_PASSWORD_CHARS,
        Some(MAX_PASSWORD_CHARS),
        "8–128 characters",
    )
}

/// A display name (of a user, a team or a channel): 1–64 characters once
/// trimmed, none of them control or format characters.
pub fn display_name(v: &str) -> Result<(), ApiError> {
    let n = v.trim().chars().count();
    if (1..=MAX_DISPLAY_NAME_CHARS).contains(&n) && !v.chars().any(is_invisible) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "display_name",
            "must be 1 to 64 characters without control or invisible formatting characters",
        ))
    }
}

pub fn display_name_schema() -> Object {
    let inv = &*INVISIBLE_CLASS;
    string(
        format!("^[^{inv}]*[^\\s{inv}][^{inv}]*$"),
        1,
        Some(MAX_DISPLAY_NAME_CHARS),
        "1–64 characters, not only spaces, without control or format (invisible) characters",
    )
}

/// A deliberately plain email check: one `@`, a non-empty local part, a
/// dotted domain, no spaces or invisible characters, at most 254
/// characters. Deliverability is the mail server's business.
pub fn email(v: &str) -> Result<(), ApiError> {
    let ok = v.chars().count() <= MAX_EMAIL_CHARS
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

pub fn email_schema() -> Object {
    let inv = &*INVISIBLE_CLASS;
    string(
        format!("^[^\\s@{inv}]+@[^\\s@.{inv}]+(\\.[^\\s@.{inv}]+)+$"),
        3,
        Some(MAX_EMAIL_CHARS),
        "an email address (stored lowercased; unique regardless of case)",
    )
}

/// A message's `content`: 1–16000 characters, not only whitespace.
pub fn content(v: &str) -> Result<(), ApiError> {
    let n = v.chars().count();
    if n == 0 || n > MAX_CONTENT_CHARS || v.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "content",
            "must be 1 to 16000 characters and not only whitespace",
        ));
    }
    not_nul("content", v)
}

pub fn content_schema() -> Object {
    string(
        "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$".to_owned(),
        1,
        Some(MAX_CONTENT_CHARS),
        "1–16000 characters, not only whitespace",
    )
}

/// A send's `client_id`: 1–128 characters.
pub fn client_id(v: &str) -> Result<(), ApiError> {
    if v.is_empty() || v.chars().count() > MAX_CLIENT_ID_CHARS {
        return Err(ApiError::invalid_field(
            "client_id",
            "must be 1 to 128 characters",
        ));
    }
    not_nul("client_id", v)
}

pub fn client_id_schema() -> Object {
    string(
        "^[^\\u0000]+$".to_owned(),
        1,
        Some(MAX_CLIENT_ID_CHARS),
        "1–128 characters; a repeat from the same user returns the stored message",
    )
}

/// `schema` for an optional field that may also be sent as `null`
/// (which means absent).
pub fn or_null(schema: Object) -> Object {
    let mut schema = schema;
    schema.schema_type = utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

pub fn display_name_or_null_schema() -> Object {
    or_null(display_name_schema())
}

pub fn client_id_or_null_schema() -> Object {
    or_null(client_id_schema())
}

/// Any other text field: everything but U+0000.
pub fn not_nul(field: &'static str, v: &str) -> Result<(), ApiError> {
    if v.contains('\0') {
        Err(ApiError::invalid_field(field, NO_NUL))
    } else {
        Ok(())
    }
}

pub fn text_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[^\\u0000]*$"))
        .build()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    /// A schema as a test reads it: its pattern compiled, and its lengths.
    struct Allowed {
        pattern: regex::Regex,
        min: Option<usize>,
        max: Option<usize>,
    }

    impl Allowed {
        fn of(schema: &Object) -> Self {
            let p = schema.pattern.as_deref().expect("every rule has a pattern");
            Self {
                pattern: regex::Regex::new(p).expect("the pattern is a valid regex"),
                min: schema.min_length,
                max: schema.max_length,
            }
        }

        /// The pattern and the lengths (in characters, as JSON Schema counts).
        fn allows(&self, v: &str) -> bool {
            let n = v.chars().count();
            self.pattern.is_match(v)
                && self.min.is_none_or(|m| n >= m)
                && self.max.is_none_or(|m| n <= m)
        }
    }

    fn allowed(schema: &Object, v: &str) -> bool {
        Allowed::of(schema).allows(v)
    }

    type Check = fn(&str) -> Result<(), ApiError>;

    static RULES: LazyLock<Vec<(&'static str, Allowed, Check)>> = LazyLock::new(|| {
        vec![
            ("username", Allowed::of(&username_schema()), username),
            ("slug", Allowed::of(&slug_schema()), slug),
            ("password", Allowed::of(&password_schema()), password),
            (
                "display_name",
                Allowed::of(&display_name_schema()),
                display_name,
            ),
            ("email", Allowed::of(&email_schema()), email),
            ("content", Allowed::of(&content_schema()), content),
            ("client_id", Allowed::of(&client_id_schema()), client_id),
        ]
    });

    /// Strings rich in what the rules care about: spaces, invisible and
    /// astral characters, `@` and dots, NUL, and plain letters.
    fn tricky() -> impl Strategy<Value = String> {
        let interesting = prop_oneof![
            Just(' '),
            Just('\u{0}'),
            Just('\u{202e}'),
            Just('\u{200b}'),
            Just('\u{feff}'),
            Just('\u{e0041}'),
            Just('\u{3000}'),
            Just('@'),
            Just('.'),
            Just('-'),
            Just('_'),
            proptest::char::range('a', 'z'),
            proptest::char::range('0', '9'),
            any::<char>(),
        ];
        proptest::collection::vec(interesting, 0..80).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn whatever_a_schema_allows_its_check_accepts(v in tricky()) {
            for (name, schema, check) in RULES.iter() {
                if schema.allows(&v) {
                    prop_assert!(check(&v).is_ok(), "{name}: {v:?} fits the schema but is refused");
                }
            }
        }
    }

    #[test]
    fn ordinary_values_fit_both() {
        for (name, schema, check, v) in [
            ("username", username_schema(), username as Check, "amira.k"),
            ("slug", slug_schema(), slug, "town-square"),
            ("password", password_schema(), password, "a long passphrase"),
            (
                "display_name",
                display_name_schema(),
                display_name,
                "Amira 🌙 K.",
            ),
            ("email", email_schema(), email, "amira@example.org"),
            ("content", content_schema(), content, "hello\nworld"),
            ("client_id", client_id_schema(), client_id, "c-1"),
        ] {
            assert!(allowed(&schema, v), "{name}: {v:?} should fit the schema");
            assert!(check(v).is_ok(), "{name}: {v:?} should pass");
        }
    }

    #[test]
    fn display_names_refuse_bidi_overrides_zero_width_and_tag_characters() {
        for bad in [
            "evil\u{202e}gnp.exe",
            "a\u{200b}b",
            "\u{feff}x",
            "flag\u{e0067}",
            "   ",
            "",
        ] {
            assert!(display_name(bad).is_err(), "{bad:?}");
            assert!(!allowed(&display_name_schema(), bad), "{bad:?}");
        }
    }

    #[test]
    fn nul_is_refused_by_every_rule_naming_its_field() {
        for (name, _, check) in RULES.iter() {
            let err = check("valid\u{0}value").err();
            assert!(err.is_some(), "{name}");
        }
        assert_eq!(
            not_nul("topic", "a\u{0}")
                .err()
                .as_ref()
                .and_then(ApiError::field),
            Some("topic")
        );
    }

    // Moved from auth-svc, where these rules began.

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

/// An optional whole number in a JSON body, also when written with a zero
/// fraction (`216.0`): JSON Schema's `integer`, which the documents
/// publish, admits both, so a client that follows them may send either.
/// Use with `#[serde(default, deserialize_with = "…")]`.
pub fn optional_whole_number<'de, D>(d: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    // Beyond 2^53 a float is no longer exact: refused rather than rounded.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    n.as_i64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT)
                .map(|f| f as i64)
        })
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a whole number, got {n}")))
}

#[cfg(test)]
mod whole_number_tests {
    use super::optional_whole_number;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "optional_whole_number")]
        n: Option<i64>,
    }

    fn parse(json: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_whole_number_is_read_with_or_without_a_zero_fraction() {
        assert_eq!(parse(r#"{"n": 216}"#), Ok(Some(216)));
        assert_eq!(parse(r#"{"n": 216.0}"#), Ok(Some(216)));
        assert_eq!(parse(r#"{"n": -3e2}"#), Ok(Some(-300)));
        assert_eq!(parse(r#"{"n": null}"#), Ok(None));
        assert_eq!(parse("{}"), Ok(None));
    }

    #[test]
    fn fractions_strings_and_inexact_floats_are_refused() {
        for bad in [r#"{"n": 2.5}"#, r#"{"n": "2"}"#, r#"{"n": 1e300}"#] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
