//! Proposals (admin, bot): list, decide; the review bot's work-lists and marks; the approved-activity feed (service).

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
