//! `GET /api/email/metrics` (service): Prometheus text. Database figures
//! (emails captured and matched, proposals by status, sync lag per
//! mailbox) are read at scrape time; Gmail call and HTTP latency counters
//! come from the daemon's [`crate::metrics::Metrics`].

use axum::extract::State;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::routes::{Access, RouteDef};
use super::{ApiError, AppState};
use crate::metrics::DbFigures;

pub(super) fn routes() -> Vec<RouteDef> {
    vec![RouteDef::new(
        Method::GET,
        "/api/email/metrics",
        Access::SERVICE,
        get(metrics),
    )
    .summary("Prometheus metrics (text format 0.0.4)")
    .doc(
        json!({"responses": {"200": {"description": "Prometheus exposition",
                "content": {"text/plain": {"schema": {"type": "string"}}}}}}),
    )]
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (counts, statuses) = state
        .store
        .run(|s| Ok((s.ops_counts()?, s.mailbox_statuses()?)))
        .await
        .map_err(ApiError::from)?;
    let now = state.clock.now();
    let figures = DbFigures {
        emails_captured: counts.emails,
        emails_matched: counts.matched,
        proposals: counts.proposals,
        sync_lag_seconds: statuses
            .iter()
            .map(|s| {
                let lag = s
                    .last_success_at
                    .map(|t| ((now - t).num_milliseconds().max(0) as f64) / 1000.0);
                (s.email.clone(), lag)
            })
            .collect(),
    };
    let text = state.metrics.render(&figures);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
