//! GET /api/email/metrics (service): Prometheus text.

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
