//! How an event becomes a stream entry and back: the [`Event`] trait every
//! stream's enum implements, the routing fields ([`Field`]) and bodies
//! ([`Body`]) an entry is made of, and [`DecodeError`]. The enums themselves
//! are declared with `events!`, which generates `encode` and `decode` from
//! one table, so the two cannot disagree.

use crate::frame::Frame;
use majlis_redis::streams::Entry;
use std::borrow::Cow;
use uuid::Uuid;

/// One stream's events (implemented by `events!`).
pub trait Event: Sized {
    /// The stream (un-prefixed), from [`crate::topics`].
    const TOPIC: &'static str;
    /// Every event type of the stream, as entries name them.
    const KINDS: &'static [&'static str];

    /// The event type, as the entry's `type` names it.
    fn kind(&self) -> &'static str;

    /// The entry: `type`, `data` and the routing fields, in their order.
    fn encode(&self) -> Encoded<'_>;

    /// The event an entry holds. Takes the entry's `data` without copying
    /// it (the frame a gateway forwards); the rest of the entry is left, for
    /// its id and trace context. An entry of a type this version does not
    /// know (written by a newer replica) is [`DecodeError::UnknownType`].
    fn decode(entry: &mut Entry) -> Result<Self, DecodeError>;
}

/// An event as a stream entry holds it (besides its trace context).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded<'a> {
    pub kind: &'static str,
    pub data: Cow<'a, str>,
    /// Routing fields, read by consumers without parsing `data`.
    pub fields: Vec<(&'static str, String)>,
}

/// Why an entry could not be read. Consumers log it and skip the entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{topic}: unknown event type {kind:?}")]
    UnknownType { topic: &'static str, kind: String },
    #[error("{kind}: the field {field} is missing")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    #[error("{kind}: the field {field} is not valid: {value:?}")]
    InvalidField {
        kind: &'static str,
        field: &'static str,
        value: String,
    },
    #[error("{kind}: data is not valid: {reason}")]
    InvalidData { kind: &'static str, reason: String },
}

impl DecodeError {
    /// An event type this version does not know: during a rolling upgrade,
    /// one a newer replica writes. Not a fault.
    pub fn is_unknown_type(&self) -> bool {
        matches!(self, Self::UnknownType { .. })
    }

    pub(crate) fn invalid(kind: &'static str, field: &'static str, value: &str) -> Self {
        // Bounded: an entry is not trusted to be small.
        let value = match value.char_indices().nth(64) {
            Some((i, _)) => format!("{}…", &value[..i]),
            None => value.to_owned(),
        };
        Self::InvalidField { kind, field, value }
    }
}

/// A value an event carries in routing fields beside `data`.
pub(crate) trait Field: Sized {
    /// The field name(s) on the wire.
    type Wire: Copy;

    fn put(&self, wire: Self::Wire, out: &mut Vec<(&'static str, String)>);

    fn take(kind: &'static str, wire: Self::Wire, entry: &Entry) -> Result<Self, DecodeError>;
}

fn required<'e>(
    kind: &'static str,
    wire: &'static str,
    entry: &'e Entry,
) -> Result<&'e str, DecodeError> {
    entry
        .field(wire)
        .ok_or(DecodeError::MissingField { kind, field: wire })
}

/// Scalars: one field, as text.
macro_rules! scalar_field {
    ($($t:ty),+) => {$(
        impl Field for $t {
            type Wire = &'static str;

            fn put(&self, wire: &'static str, out: &mut Vec<(&'static str, String)>) {
                out.push((wire, self.to_string()));
            }

            fn take(kind: &'static str, wire: &'static str, entry: &Entry) -> Result<Self, DecodeError> {
                let v = required(kind, wire, entry)?;
                v.parse().map_err(|_| DecodeError::invalid(kind, wire, v))
            }
        }
    )+};
}

scalar_field!(Uuid, i64, String);

/// An entry's `data`.
pub(crate) trait Body: Sized {
    fn data(&self) -> Cow<'_, str>;

    fn from_data(kind: &'static str, data: String) -> Result<Self, DecodeError>;
}

impl Body for Frame {
    fn data(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }

    /// As written: a gateway forwards it without parsing it.
    fn from_data(_kind: &'static str, data: String) -> Result<Self, DecodeError> {
        Ok(Frame::new(data))
    }
}

/// No body: events whose routing fields say everything (cache
/// invalidations, closes). `data` is empty on the wire.
impl Body for () {
    fn data(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }

    fn from_data(_kind: &'static str, _data: String) -> Result<Self, DecodeError> {
        Ok(())
    }
}

/// Declares one stream's enum: a line per event, naming its variant, its
/// `type` on the wire, its routing fields (`name: Type = "wire name"`) and
/// the field that is the entry's `data`. `encode`, `decode`, `kind` and
/// `KINDS` are generated from the same line, so adding an event type is
/// adding a line (and the frame builder it needs); every consumer's
/// exhaustive `match` then points at where it must be handled.
macro_rules! events {
    (
        $(#[$meta:meta])*
        pub enum $stream:ident on $topic:path {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $kind:literal {
                    $($field:ident : $fty:ty = $wire:expr),* $(,)?
                } $data:ident : $dty:ty
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $stream {
            $(
                $(#[$vmeta])*
                $variant { $($field: $fty,)* $data: $dty },
            )+
        }

        impl $crate::Event for $stream {
            const TOPIC: &'static str = $topic;
            const KINDS: &'static [&'static str] = &[$($kind),+];

            fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $kind,)+
                }
            }

            fn encode(&self) -> $crate::Encoded<'_> {
                match self {
                    $(Self::$variant { $($field,)* $data } => {
                        #[allow(unused_mut)]
                        let mut fields = Vec::new();
                        $($crate::Field::put($field, $wire, &mut fields);)*
                        $crate::Encoded {
                            kind: $kind,
                            data: $crate::Body::data($data),
                            fields,
                        }
                    })+
                }
            }

            fn decode(
                entry: &mut $crate::Entry,
            ) -> ::std::result::Result<Self, $crate::DecodeError> {
                match entry.event_type.as_str() {
                    $($kind => Ok(Self::$variant {
                        $($field: $crate::Field::take($kind, $wire, entry)?,)*
                        $data: $crate::Body::from_data($kind, ::std::mem::take(&mut entry.data))?,
                    }),)+
                    _ => Err($crate::DecodeError::UnknownType {
                        topic: $topic,
                        kind: entry.event_type.clone(),
                    }),
                }
            }
        }
    };
}

pub(crate) use events;
