//! OAuth mode: oauth/start (admin) and oauth/callback (browser, signed state).

use super::routes::RouteDef;

pub(super) fn routes() -> Vec<RouteDef> {
    Vec::new()
}
