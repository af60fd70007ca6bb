//! POST /api/email/drafts (admin, mailbox owner, bot): an in-thread Gmail reply draft; never sends.

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
