//! `GET /api/email/stream` (admin): server-sent events from the store's
//! event bus — proposals created and decided, sync progress, drafts,
//! digests. Each event is `event: <type>` with the event's JSON as `data`;
//! a comment keeps the connection alive every 15 s; a subscriber that
//! fell behind the bus's buffer gets a `lagged` event saying how many it
//! missed (then carries on with the newest), so a dashboard knows to reload.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::Method;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use super::routes::{Access, RouteDef};
use super::AppState;
use crate::events::Event;

/// How often an idle stream sends a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/email/stream", Access::ADMIN, get(stream))
            .summary("Server-sent events: new proposals, decisions, sync progress")
            .doc(json!({"responses": {"200": {
                "description": "An event stream; `event:` is the type (proposal_created, proposal_decided, sync_progress, draft_created, digest_sent, lagged), `data:` its JSON",
                "content": {"text/event-stream": {"schema": {"type": "string"}}}}}})),
    ]
}

async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    // Subscribed before the response starts: nothing published after the
    // client sees the headers is missed.
    sse(state.store.events().subscribe())
}

/// The event stream of `rx`, with keep-alives.
fn sse(rx: Receiver<Event>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let events = futures::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(event) => to_sse(&event),
            Err(RecvError::Lagged(missed)) => SseEvent::default()
                .event("lagged")
                .data(json!({"type": "lagged", "missed": missed}).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

fn to_sse(event: &Event) -> SseEvent {
    let data = serde_json::to_value(event).unwrap_or_default();
    let kind = data["type"].as_str().unwrap_or("event").to_string();
    SseEvent::default().event(kind).data(data.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use futures::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn an_idle_stream_sends_a_keep_alive_every_fifteen_seconds_then_events() {
        let bus = crate::events::Bus::new();
        let mut body = sse(bus.subscribe())
            .into_response()
            .into_body()
            .into_data_stream();
        let start = tokio::time::Instant::now();
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(&first[..], b":\n\n", "a comment line");
        assert_eq!(start.elapsed(), KEEP_ALIVE);
        bus.publish(Event::DigestSent {
            id: "3".into(),
            local_day: "2026-11-22".into(),
        });
        let frame = body.next().await.unwrap().unwrap();
        let text = std::str::from_utf8(&frame).unwrap();
        assert!(text.starts_with("event: digest_sent\ndata: {"), "{text}");
        assert!(text.contains("\"local_day\":\"2026-11-22\""), "{text}");
        assert_eq!(start.elapsed(), KEEP_ALIVE, "events go out at once");
    }
}
