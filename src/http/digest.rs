//! Digest policy, preview, send-now and test-email (admin).

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
