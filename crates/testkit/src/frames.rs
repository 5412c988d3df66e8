//! Bad input for the gateways' frame parsers, written once for both: a fixed
//! corpus to send over a real socket, and proptest strategies that generate
//! random, truncated, wrongly typed, huge, deeply nested and long frames. Each
//! gateway describes its frames ([`Template`]) and checks the outcome itself.

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use serde_json::{Map, Value};

/// The type a field of a client frame must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// A non-negative integer that fits an i64.
    Count,
}

/// A field of a client frame.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// May be left out (then `null` is also fine).
    pub optional: bool,
}

impl Field {
    pub const fn text(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Text,
            optional: false,
        }
    }

    pub const fn count(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Count,
            optional: false,
        }
    }

    pub const fn optional(self) -> Self {
        Self {
            optional: true,
            ..self
        }
    }
}

/// One kind of client frame: a valid example and the fields to break.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    /// Its `type`.
    pub kind: &'static str,
    /// A valid frame of this kind, as JSON text.
    pub valid: &'static str,
    pub fields: &'static [Field],
}

/// The chat socket's client frames (contract: "Chat socket").
pub const CHAT: &[Template] = &[
    Template {
        kind: "auth",
        valid: r#"{"type":"auth","token":"t","last_seq":3}"#,
        fields: &[Field::text("token"), Field::count("last_seq").optional()],
    },
    Template {
        kind: "message",
        valid: r#"{"type":"message","content":"hi","client_id":"c1"}"#,
        fields: &[Field::text("content"), Field::text("client_id").optional()],
    },
    Template {
        kind: "reaction",
        valid: r#"{"type":"reaction","message_id":"m","emoji":"👍","action":"add"}"#,
        fields: &[
            Field::text("message_id"),
            Field::text("emoji"),
            Field::text("action"),
        ],
    },
    Template {
        kind: "edit",
        valid: r#"{"type":"edit","message_id":"m","content":"now"}"#,
        fields: &[Field::text("message_id"), Field::text("content")],
    },
    Template {
        kind: "delete",
        valid: r#"{"type":"delete","message_id":"m"}"#,
        fields: &[Field::text("message_id")],
    },
    Template {
        kind: "typing_start",
        valid: r#"{"type":"typing_start"}"#,
        fields: &[],
    },
    Template {
        kind: "typing_stop",
        valid: r#"{"type":"typing_stop"}"#,
        fields: &[],
    },
    Template {
        kind: "ping",
        valid: r#"{"type":"ping"}"#,
        fields: &[],
    },
];

/// The presence socket's client frames (contract: "Presence socket").
pub const PRESENCE: &[Template] = &[
    Template {
        kind: "auth",
        valid: r#"{"type":"auth","token":"t"}"#,
        fields: &[Field::text("token")],
    },
    Template {
        kind: "set_status",
        valid: r#"{"type":"set_status","status":"away"}"#,
        fields: &[Field::text("status")],
    },
    Template {
        kind: "ping",
        valid: r#"{"type":"ping"}"#,
        fields: &[],
    },
];

/// The frame types of `templates`.
pub fn kinds(templates: &[Template]) -> Vec<&'static str> {
    templates.iter().map(|t| t.kind).collect()
}

/// Numbers no field can hold: out of f64 range, past i64 at both ends, past
/// u64, fractional, negative.
pub const HUGE_NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "123456789012345678901234567890123456789",
    "1.5",
    "-1",
    "1e-400",
];

/// Frame types neither gateway knows (the other gateway's and the server's
/// own frames are added by [`corpus`]).
pub const UNKNOWN_TYPES: &[&str] = &[
    "dance",
    "",
    "PING",
    " ping",
    "ping ",
    "hello",
    "pong",
    "error",
    "ack",
    "presence_update",
    "presence_list",
    "__proto__",
];

/// Larger than any sane frame, under the 64 KiB frame limit.
pub const LONG: usize = 60_000;

fn valid_object(t: &Template) -> Map<String, Value> {
    match serde_json::from_str::<Value>(t.valid) {
        Ok(Value::Object(m)) => m,
        other => panic!("template {:?} is not an object: {other:?}", t.valid),
    }
}

/// The template with `field` replaced by the raw JSON text `raw` (raw, so
/// that numbers no JSON library would write, like `1e400`, can be sent).
pub fn with_raw(t: &Template, field: &str, raw: &str) -> String {
    let mut m = valid_object(t);
    m.remove(field);
    let mut text = Value::Object(m).to_string();
    text.pop(); // the closing brace
    if !text.ends_with('{') {
        text.push(',');
    }
    text.push_str(&serde_json::to_string(field).unwrap_or_default());
    text.push(':');
    text.push_str(raw);
    text.push('}');
    text
}

/// `[[[…]]]`, `depth` deep (closed, so well-formed but past any sane depth).
pub fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"a":{"a":…` `depth` deep, never closed.
pub fn open_objects(depth: usize) -> String {
    "{\"a\":".repeat(depth)
}

/// Values of the wrong type for `field`.
fn wrong_values(field: Field) -> Vec<String> {
    let mut v: Vec<String> = [
        "true",
        "[]",
        "[1]",
        "{}",
        "{\"a\":1}",
        "0.5e3",
        "\"\\ud800\"",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.extend(HUGE_NUMBERS.iter().map(|s| (*s).to_owned()));
    v.push(nested_arrays(3_000));
    if !field.optional {
        v.push("null".to_owned());
    }
    match field.kind {
        Kind::Text => {
            v.extend(["0", "42"].map(str::to_owned));
            // A long array where a string belongs.
            v.push(format!("[{}1]", "1,".repeat(LONG / 2)));
        }
        Kind::Count => {
            v.extend(["\"7\"", "\"\""].map(str::to_owned));
            // A long string where a number belongs: the error must not echo it.
            v.push(format!("\"{}\"", "x".repeat(LONG)));
        }
    }
    v
}

/// A fixed corpus of frames a gateway whose frames are `templates` must
/// answer with an `error` frame (and stay open): (what it is, the frame).
/// `other` is the other gateway's frames: those it does not share are
/// unknown types here.
pub fn corpus(templates: &[Template], other: &[Template]) -> Vec<(String, String)> {
    let own = kinds(templates);
    let unknown_types: Vec<&str> = kinds(other)
        .into_iter()
        .filter(|k| !own.contains(k))
        .collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |label: &str, text: String| out.push((label.to_owned(), text));
    for text in [
        "{oops",
        "{",
        "}",
        "",
        "   ",
        "null",
        "42",
        "1e400",
        "\"ping\"",
        "[1,2,3]",
        "[{\"type\":\"ping\"}]",
        "true",
        "{\"type\":\"ping\"}}",
        "{\"type\":\"ping\",}",
        "{'type':'ping'}",
        "{\"type\":\"ping\" \"x\":1}",
        "{\"type\":\"p\\xng\"}",
        "{\"type\":\"ping\u{0}\"}",
        "{\"type\":\"ping\",\"x\":tru}",
        "\u{feff}{\"type\":\"ping\"}",
    ] {
        add("malformed", text.to_owned());
    }
    for text in [
        "{}",
        "{\"no_type\":1}",
        "{\"type\":null}",
        "{\"type\":5}",
        "{\"type\":1e400}",
        "{\"type\":-9223372036854775809}",
        "{\"type\":[\"ping\"]}",
        "{\"type\":{\"type\":\"ping\"}}",
        "{\"type\":\"\\ud800\"}",
    ] {
        add("no string type", text.to_owned());
    }
    for kind in UNKNOWN_TYPES.iter().chain(&unknown_types) {
        add(
            "unknown type",
            Value::Object(Map::from_iter([(
                "type".to_owned(),
                Value::String((*kind).to_owned()),
            )]))
            .to_string(),
        );
    }
    add(
        "unknown type",
        format!("{{\"type\":\"{}\"}}", "t".repeat(LONG)),
    );
    add("deep", nested_arrays(5_000));
    add("deep", open_objects(5_000));
    add(
        "deep",
        format!("{{\"type\":\"dance\",\"x\":{}}}", nested_arrays(5_000)),
    );
    add("long", "x".repeat(LONG));
    add("long", format!("[{}1]", "1,".repeat(LONG / 2)));
    for t in templates {
        let valid = t.valid;
        for cut in [1, valid.len() / 3, valid.len() / 2, valid.len() - 1] {
            if let Some(prefix) = valid.get(..cut) {
                add("truncated", prefix.to_owned());
            }
        }
        for field in t.fields {
            if !field.optional {
                let mut m = valid_object(t);
                m.remove(field.name);
                add("missing field", Value::Object(m).to_string());
            }
            for raw in wrong_values(*field) {
                add("wrong type", with_raw(t, field.name, &raw));
            }
            add("deep field", with_raw(t, field.name, &open_objects(5_000)));
        }
    }
    out
}

/// Any JSON value, a few levels deep.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A raw JSON value for a field: any value, a huge number, a deep nest, a
/// long string.
fn raw_value() -> BoxedStrategy<String> {
    prop_oneof![
        4 => json_value().prop_map(|v| v.to_string()),
        2 => prop::sample::select(HUGE_NUMBERS).prop_map(str::to_owned),
        1 => (1usize..5_000).prop_map(nested_arrays),
        1 => (1usize..5_000).prop_map(open_objects),
        1 => (0usize..LONG).prop_map(|n| format!("\"{}\"", "y".repeat(n))),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
    .boxed()
}

/// Frames a gateway may receive from a hostile or broken client: random
/// text; random JSON; its own frames with fields replaced by anything;
/// unknown types; its frames cut short or with a character changed; deep
/// nesting; long strings.
pub fn hostile_frame(templates: &'static [Template]) -> BoxedStrategy<String> {
    let template = prop::sample::select(templates);
    let field_of = |t: &Template| {
        let names: Vec<&'static str> = t
            .fields
            .iter()
            .map(|f| f.name)
            .chain(["type", "extra"])
            .collect();
        prop::sample::select(names)
    };
    prop_oneof![
        2 => any::<String>(),
        1 => "[\\[\\]{}\",:0-9a-z ]{0,64}",
        2 => json_value().prop_map(|v| v.to_string()),
        4 => template
            .clone()
            .prop_flat_map(move |t| (Just(t), field_of(&t), raw_value()))
            .prop_map(|(t, f, raw)| with_raw(&t, f, &raw)),
        1 => (".{0,64}", prop::collection::vec((".{0,8}", json_value()), 0..4)).prop_map(
            |(kind, rest)| {
                let mut m: Map<String, Value> = rest.into_iter().collect();
                m.insert("type".to_owned(), Value::String(kind));
                Value::Object(m).to_string()
            }
        ),
        2 => (template.clone(), any::<prop::sample::Index>()).prop_map(|(t, i)| {
            let cut = i.index(t.valid.len() + 1);
            t.valid.get(..cut).unwrap_or(t.valid).to_owned()
        }),
        2 => (template, any::<prop::sample::Index>(), any::<char>()).prop_map(|(t, i, c)| {
            let mut chars: Vec<char> = t.valid.chars().collect();
            let at = i.index(chars.len());
            chars[at] = c;
            chars.into_iter().collect()
        }),
        1 => (1usize..5_000, any::<bool>()).prop_map(|(d, arrays)| {
            if arrays { nested_arrays(d) } else { open_objects(d) }
        }),
    ]
    .boxed()
}

/// proptest settings for a parser suite: enough cases to find the shapes
/// above, few enough that the suite runs in seconds unoptimised; failures
/// print the shrunk input instead of writing regression files into the tree.
pub fn fuzz_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
