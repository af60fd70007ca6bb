//! Mailboxes (admin): list, enroll, enroll-all, pause/resume; sync/run-now and rematch.

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
