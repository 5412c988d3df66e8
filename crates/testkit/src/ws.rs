//! A WebSocket test client for the gateways' contract: JSON frames in and
//! out, the close code on close, and every wait under a timeout.

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;

/// How long a test waits for any one frame.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Ws {
    pub framed: actix_codec::Framed<awc::BoxedSocket, ws::Codec>,
}

/// What reading a socket produced.
#[derive(Debug)]
pub enum Event {
    Json(Value),
    Closed(Option<u16>),
}

impl Ws {
    /// Opens `url` (`ws://…`) without authenticating.
    pub async fn connect(url: &str) -> Self {
        let (_, framed) = awc::Client::builder()
            .timeout(WAIT)
            .finish()
            .ws(url)
            .max_frame_size(4 << 20)
            .connect()
            .await
            .expect("websocket handshake");
        Self { framed }
    }

    pub async fn send(&mut self, v: &Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.framed
            .send(ws::Message::Text(text.to_owned().into()))
            .await
            .expect("send frame");
    }

    /// The next JSON frame or the close, within `limit`; `None` on timeout.
    pub async fn next_within(&mut self, limit: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.framed.next())
                .await
                .ok()?;
            match frame {
                None | Some(Err(_)) => return Some(Event::Closed(None)),
                Some(Ok(ws::Frame::Text(b))) => {
                    return Some(Event::Json(
                        serde_json::from_slice(&b).expect("server frames are JSON"),
                    ));
                }
                Some(Ok(ws::Frame::Close(reason))) => {
                    return Some(Event::Closed(reason.map(|r| u16::from(r.code))));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next JSON frame; panics on close or timeout.
    pub async fn recv(&mut self) -> Value {
        match self.next_within(WAIT).await {
            Some(Event::Json(v)) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame of `kind`, skipping others.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// Reads until the server closes; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.next_within(WAIT).await {
                Some(Event::Json(_)) => {}
                Some(Event::Closed(code)) => return code,
                None => panic!("the socket was not closed within {WAIT:?}"),
            }
        }
    }

    /// Asserts nothing but pings arrives for `quiet`.
    pub async fn silent_for(&mut self, quiet: Duration) {
        if let Some(e) = self.next_within(quiet).await {
            panic!("expected silence, got {e:?}");
        }
    }
}
