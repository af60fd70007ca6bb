//! Admin reads: activity (matched-only, live-only, keyset pages), emails/{id} with sanitized HTML, attachments/{id} streamed, threads.

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
