//! GET /api/email/openapi.json: the OpenAPI 3.1 document generated from the route table.

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
