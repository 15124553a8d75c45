//! CSRF tokens for forms: HMAC-SHA256 of a purpose, keyed by a secret the
//! browser holds only in an HttpOnly cookie (the session id, or before
//! sign-in a random pre-session value).
//!
//! A page from this server embeds the token in a hidden field; another site
//! can make the browser send the cookie but can neither read it nor the
//! page, so it cannot produce the field. Tokens are checked in constant time
//! (`Mac::verify_slice`). A token is valid as long as its session.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The purpose of tokens in forms of a signed-in session.
pub const SESSION_PURPOSE: &str = "tandem-form";
/// The purpose of the sign-in form's token (keyed by the pre-session cookie).
pub const SIGN_IN_PURPOSE: &str = "tandem-sign-in";

/// The hidden field's name in every form.
pub const FIELD: &str = "csrf";

fn mac(secret: &str, purpose: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac
}

/// The token for forms keyed by `secret`.
pub fn token(secret: &str, purpose: &str) -> String {
    hex::encode(mac(secret, purpose).finalize().into_bytes())
}

/// True when `submitted` is the token for `secret` and `purpose`.
pub fn verify(secret: &str, purpose: &str, submitted: &str) -> bool {
    match hex::decode(submitted.trim()) {
        Ok(bytes) => mac(secret, purpose).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_secret_and_purpose() {
        let t = token("tdm_session_a", SESSION_PURPOSE);
        assert_eq!(t.len(), 64);
        assert!(verify("tdm_session_a", SESSION_PURPOSE, &t));
        assert!(!verify("tdm_session_b", SESSION_PURPOSE, &t));
        assert!(!verify("tdm_session_a", SIGN_IN_PURPOSE, &t));
        assert!(!verify("tdm_session_a", SESSION_PURPOSE, ""));
        assert!(!verify("tdm_session_a", SESSION_PURPOSE, "not hex"));
        assert!(!verify("tdm_session_a", SESSION_PURPOSE, &t[..62]));
    }
}
