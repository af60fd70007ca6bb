//! PUT /api/email/directory (service): atomic replace of the CRM directory, relink of past email, proposals for newly linked email.

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
