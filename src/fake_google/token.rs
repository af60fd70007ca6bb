//! `POST /token`: Google's OAuth 2.0 token endpoint for the three grants we
//! use: jwt-bearer (service account with domain-wide delegation), and the
//! refresh_token / authorization_code grants of an OAuth client. Verifies the
//! RS256 signature, `iss`, `aud`, `iat`/`exp` (against the injected clock),
//! `sub` and every scope; answers with Google's success and error shapes.

use super::faults;
use super::grants::{is_known_scope, AccessGrant, RefreshGrant};
use super::keys::{JwtError, CLIENT_EMAIL};
use super::reply::Reply;
use super::state::{random_token, Shared};
use serde_json::{json, Value};
use std::collections::HashMap;

pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// google-auth always puts this in `aud`, whatever URI it posts to.
pub(crate) const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Google allows exp − iat up to an hour, with a little slack.
const MAX_LIFETIME_SECS: i64 = 3600 + 60;
const CLOCK_SKEW_SECS: i64 = 300;

type Form = HashMap<String, String>;

/// Handle one POST to the token endpoint (form-encoded body).
pub(crate) fn exchange(shared: &Shared, body: &[u8]) -> Reply {
    let form: Form = url::form_urlencoded::parse(body).into_owned().collect();
    {
        let mut st = shared.lock();
        st.counters.token_exchanges += 1;
        st.count_call("token");
        if let Some(kind) = st.faults.take_targeted("token") {
            st.counters.injected_faults += 1;
            return faults::token_reply(kind);
        }
    }
    match form.get("grant_type").map(String::as_str) {
        Some(JWT_BEARER) => jwt_bearer(shared, &form),
        Some("refresh_token") => refresh(shared, &form),
        Some("authorization_code") => auth_code(shared, &form),
        Some(other) => Reply::oauth_error(
            400,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
        None => invalid_request("Missing required parameter: grant_type"),
    }
}

fn invalid_request(msg: &str) -> Reply {
    Reply::oauth_error(400, "invalid_request", msg)
}

fn invalid_grant(msg: &str) -> Reply {
    Reply::oauth_error(400, "invalid_grant", msg)
}

fn unauthorized_client() -> Reply {
    Reply::oauth_error(
        401,
        "unauthorized_client",
        "Client is unauthorized to retrieve access tokens using this method, or client not \
         authorized for any of the scopes requested.",
    )
}

fn jwt_bearer(shared: &Shared, form: &Form) -> Reply {
    let Some(assertion) = form.get("assertion") else {
        return invalid_request("Missing required parameter: assertion");
    };
    let claims = match shared.key.verify(assertion) {
        Ok((_, claims)) => claims,
        Err(JwtError::BadSignature) => return invalid_grant("Invalid JWT Signature."),
        Err(JwtError::Malformed) => return invalid_grant("Invalid JWT: malformed assertion."),
    };
    if let Err(reply) = check_claims(shared, &claims) {
        return reply;
    }
    let scopes = match parse_scopes(claims.get("scope").and_then(Value::as_str)) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or(CLIENT_EMAIL)
        .to_ascii_lowercase();
    let mut st = shared.lock();
    if sub != CLIENT_EMAIL {
        match st.grants.users.get(&sub) {
            None => return invalid_grant("Invalid email or User ID"),
            Some(g) if g.revoked => return unauthorized_client(),
            Some(g) if !scopes.iter().all(|s| g.scopes.contains(s)) => {
                return unauthorized_client()
            }
            Some(_) => {}
        }
    }
    let token = mint(shared, &mut st.grants, &sub, &scopes);
    Reply::json(
        200,
        &json!({"access_token": token, "expires_in": shared.token_lifetime_secs,
                "token_type": "Bearer"}),
    )
}

fn check_claims(shared: &Shared, claims: &Value) -> Result<(), Reply> {
    let s = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    if s("iss") != CLIENT_EMAIL {
        return Err(invalid_grant("Invalid grant: account not found"));
    }
    let aud = s("aud");
    if aud != shared.token_uri() && aud != GOOGLE_TOKEN_URI {
        return Err(invalid_grant("Invalid JWT: Failed audience check."));
    }
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(Value::as_i64),
        claims.get("exp").and_then(Value::as_i64),
    ) else {
        return Err(invalid_grant("Invalid JWT: iat and exp are required."));
    };
    let now = shared.clock.now().timestamp();
    let sane = exp > iat
        && exp - iat <= MAX_LIFETIME_SECS
        && iat <= now + CLOCK_SKEW_SECS
        && exp > now - CLOCK_SKEW_SECS / 5;
    if !sane {
        return Err(invalid_grant(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable \
             timeframe. Check your iat and exp values in the JWT claim.",
        ));
    }
    Ok(())
}

fn parse_scopes(scope: Option<&str>) -> Result<Vec<String>, Reply> {
    let scopes: Vec<String> = scope
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect();
    if scopes.is_empty() || !scopes.iter().all(|s| is_known_scope(s)) {
        return Err(Reply::oauth_error(
            400,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    Ok(scopes)
}

fn mint(
    shared: &Shared,
    grants: &mut super::grants::Grants,
    user: &str,
    scopes: &[String],
) -> String {
    let now_ms = shared.now_ms();
    let token = random_token("ya29.fake-", 48);
    let grant = AccessGrant {
        user: user.to_string(),
        scopes: scopes.to_vec(),
        expires_ms: now_ms + shared.token_lifetime_secs as i64 * 1000,
    };
    grants.issue(token.clone(), grant, now_ms);
    token
}

fn client_ok(st: &super::state::State, form: &Form) -> bool {
    let id = form.get("client_id").map(String::as_str).unwrap_or("");
    let secret = form.get("client_secret").map(String::as_str).unwrap_or("");
    st.grants.clients.get(id).is_some_and(|s| s == secret)
}

fn auth_code(shared: &Shared, form: &Form) -> Reply {
    let mut st = shared.lock();
    if !client_ok(&st, form) {
        return Reply::oauth_error(401, "invalid_client", "Unauthorized");
    }
    let code = form.get("code").map(String::as_str).unwrap_or("");
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    let Some(grant) = st.grants.codes.remove(code) else {
        return invalid_grant("Malformed auth code.");
    };
    if grant.client_id != client_id {
        return invalid_grant("Malformed auth code.");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Reply::oauth_error(400, "redirect_uri_mismatch", "Bad Request");
    }
    let access = mint(shared, &mut st.grants, &grant.user, &grant.scopes);
    let refresh = random_token("1//0fake-", 64);
    st.grants.refresh.insert(
        refresh.clone(),
        RefreshGrant {
            client_id,
            user: grant.user.clone(),
            scopes: grant.scopes.clone(),
            revoked: false,
        },
    );
    Reply::json(
        200,
        &json!({"access_token": access, "expires_in": shared.token_lifetime_secs,
                "refresh_token": refresh, "scope": grant.scopes.join(" "),
                "token_type": "Bearer"}),
    )
}

fn refresh(shared: &Shared, form: &Form) -> Reply {
    let mut st = shared.lock();
    if !client_ok(&st, form) {
        return Reply::oauth_error(401, "invalid_client", "Unauthorized");
    }
    let token = form.get("refresh_token").map(String::as_str).unwrap_or("");
    let Some(grant) = st.grants.refresh.get(token).cloned() else {
        return invalid_grant("Token has been expired or revoked.");
    };
    let user_revoked = st.grants.users.get(&grant.user).is_some_and(|u| u.revoked);
    if grant.revoked || user_revoked {
        return invalid_grant("Token has been expired or revoked.");
    }
    if form.get("client_id") != Some(&grant.client_id) {
        return Reply::oauth_error(401, "unauthorized_client", "Unauthorized");
    }
    let scopes = match form.get("scope") {
        None => grant.scopes.clone(),
        Some(s) => {
            let wanted: Vec<String> = s.split_whitespace().map(String::from).collect();
            if !wanted.iter().all(|w| grant.scopes.contains(w)) {
                return Reply::oauth_error(400, "access_denied", "Requested scope not granted.");
            }
            wanted
        }
    };
    let access = mint(shared, &mut st.grants, &grant.user, &scopes);
    Reply::json(
        200,
        &json!({"access_token": access, "expires_in": shared.token_lifetime_secs,
                "scope": scopes.join(" "), "token_type": "Bearer"}),
    )
}
