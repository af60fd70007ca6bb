//! OAuth mode (`CRM_GMAIL_AUTH_METHOD=oauth`): the consent URL with a
//! signed, expiring, single-use `state`, and the code exchange whose
//! refresh token is stored encrypted.
