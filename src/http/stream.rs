//! GET /api/email/stream (admin): server-sent events for proposals, decisions and sync progress.

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
