//! The OAuth 2.0 client: requests to the token, device-authorization and revocation
//! endpoints, client authentication, token responses, OAuth error codes, and ID token checks.
//!
//! It owns the mapping from what the provider said to vouch's error classes, so that every
//! flow (login, refresh, rotate) classifies the same answer the same way:
//!
//! | provider says | exit |
//! |---|---|
//! | `invalid_grant`, `invalid_token` | 4 |
//! | `invalid_client` | 4 when the client authenticated with a secret, else 9 |
//! | `access_denied`, `expired_token` | 10 |
//! | `server_error`, `temporarily_unavailable`, HTTP 5xx, 429 | 5 |
//! | `unsupported_grant_type`, `unauthorized_client`, `invalid_request`, `invalid_scope`, malformed answers | 9 |
//!
//! Token responses are deserialized straight into secret types. GitHub's habit of answering
//! HTTP 200 with an `error` field is handled here too: an `error` field is an error whatever
//! the status.

use crate::config::AuthMethod;
use crate::context::Context;
use crate::error::Error;
use crate::http::{self, Auth, Body, Response};
use crate::secret::{AccessToken, ClientSecret, DpopKey, IdToken, RefreshToken};
use serde::Deserialize;
use url::Url;
use zeroize::{Zeroize, Zeroizing};

/// The longest `expires_in` vouch believes: ten years.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;

/// The OAuth client vouch acts as, at one provider.
#[derive(Debug, Clone)]
pub struct Client {
    /// The issuer this client is registered at: everything it sends (its secret, a code, a
    /// refresh token) belongs to this issuer and goes only to its endpoints.
    pub issuer: String,
    pub id: String,
    pub secret: Option<ClientSecret>,
    pub method: AuthMethod,
    /// The DPoP key the grant is bound to (RFC 9449): every request this client posts carries
    /// a proof made with it, and the token endpoint must answer `token_type: DPoP`.
    pub dpop: Option<DpopKey>,
}

impl Client {
    pub fn public(issuer: &str, id: &str) -> Self {
        Client {
            issuer: issuer.to_string(),
            id: id.to_string(),
            secret: None,
            method: AuthMethod::ClientSecretBasic,
            dpop: None,
        }
    }

    /// Send `params` to `url` as a form, authenticated as this client (RFC 6749 §2.3.1).
    pub fn post(&self, ctx: &mut Context, url: &Url, params: &[(&str, &str)]) -> Result<Response, Error> {
        self.post_tracked(ctx, url, params).map_err(|failure| failure.error)
    }

    /// [`Client::post`], telling whether a failed request may have reached the provider.
    ///
    /// With a DPoP key, this is the one place proofs for the provider are made: one per
    /// request, with the nonce the provider's origin asked for last. A provider that answers
    /// `400 {"error":"use_dpop_nonce"}` with a `DPoP-Nonce` header gets the request once more
    /// with that nonce, and never a third time. That answer means the provider did not process
    /// the grant (RFC 9449 §8), so the resend cannot reuse a consumed refresh token.
    pub fn post_tracked(
        &self,
        ctx: &mut Context,
        url: &Url,
        params: &[(&str, &str)],
    ) -> Result<Response, http::Failure> {
        let response = self.post_once(ctx, url, params)?;
        let asked = self.dpop.is_some()
            && response.status == 400
            && response.dpop_nonce.is_some()
            && crate::dpop::asks_for_nonce(&response.body, None);
        if !asked {
            return Ok(response);
        }
        ctx.log(format_args!("dpop: {} asked for a nonce; sending once more with it", http::redact(url)));
        self.post_once(ctx, url, params)
    }

    fn post_once(
        &self,
        ctx: &mut Context,
        url: &Url,
        params: &[(&str, &str)],
    ) -> Result<Response, http::Failure> {
        let proof = match &self.dpop {
            Some(key) => {
                let nonce = ctx.dpop_nonce(url);
                let request = crate::dpop::ProofRequest {
                    method: "POST",
                    url,
                    now: ctx.now(),
                    nonce: nonce.as_deref(),
                    access_token: None,
                };
                let proof = key.proof(&request).map_err(|error| http::Failure {
                    error,
                    maybe_delivered: false,
                    unreachable: false,
                })?;
                Some(proof)
            }
            None => None,
        };
        let extra = http::Extra { dpop_proof: proof.as_ref().map(|p| p.as_str()), headers: &[] };
        let response = self.post_form(ctx, url, params, extra)?;
        if let (Some(_), Some(nonce)) = (&self.dpop, &response.dpop_nonce) {
            ctx.remember_dpop_nonce(url, nonce);
        }
        Ok(response)
    }

    fn post_form(
        &self,
        ctx: &mut Context,
        url: &Url,
        params: &[(&str, &str)],
        extra: http::Extra<'_>,
    ) -> Result<Response, http::Failure> {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        let encode =
            |s: &str| Zeroizing::new(url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>());
        match (&self.secret, self.method) {
            (Some(secret), AuthMethod::ClientSecretBasic) => {
                let (id, secret) = (encode(&self.id), encode(secret.expose_secret()));
                let auth = Auth::Basic(&id, &secret);
                return http::send_with(ctx, "POST", url, auth, Body::Form(&form), extra, Some(&self.issuer));
            }
            (Some(secret), AuthMethod::ClientSecretPost) => {
                form.push(("client_id", &self.id));
                form.push(("client_secret", secret.expose_secret()));
            }
            (None, _) => form.push(("client_id", &self.id)),
        }
        http::send_with(ctx, "POST", url, Auth::None, Body::Form(&form), extra, Some(&self.issuer))
    }
}

/// Pick how a confidential client authenticates: basic unless the provider lists only post.
pub fn choose_auth_method(supported: &[String]) -> AuthMethod {
    let has = |m: &str| supported.iter().any(|s| s == m);
    if !has("client_secret_basic") && has("client_secret_post") {
        AuthMethod::ClientSecretPost
    } else {
        AuthMethod::ClientSecretBasic
    }
}

/// A successful token response.
#[derive(Debug)]
pub struct Tokens {
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<RefreshToken>,
    pub scope: Option<String>,
    pub id_token: Option<IdToken>,
    /// Seconds the refresh token lasts, when the provider says (GitHub Apps).
    pub refresh_expires_in: Option<u64>,
}

/// Why a token request did not produce tokens.
#[derive(Debug)]
pub enum GrantError {
    /// The provider answered with an OAuth error code (RFC 6749 §5.2, RFC 8628 §3.5).
    OAuth { code: String, description: Option<String> },
    /// A bare HTTP 400, 401 or 403 with no OAuth error code: the provider refused the grant
    /// (a dead refresh token, a wrong client secret) without saying why.
    Refused { status: u16 },
    /// The request may have reached the provider, but no usable answer came back (the
    /// connection broke or timed out after sending, a gateway time-out, a success answer that
    /// breaks the protocol). The provider may have acted on it: a refresh token in it may be
    /// consumed. Carries the classified error.
    Lost(Error),
    /// Nothing is at the endpoint: its host name did not resolve, or the connection was
    /// refused. Nothing was sent, so the grant may be sent again, to where the provider's
    /// metadata now says (an endpoint taken from cached metadata may have moved).
    Unreachable(Error),
    /// HTTP 404: no endpoint at that URL (it moved, or the metadata is stale). The request
    /// arrived but no grant was processed there: the credential is still good, but it is not
    /// sent again in this command.
    NoEndpoint(Error),
    /// Anything else, already classified; the provider did not act on the grant.
    Failed(Error),
}

impl From<Error> for GrantError {
    fn from(err: Error) -> Self {
        GrantError::Failed(err)
    }
}

impl GrantError {
    /// Classify for the user. `profile` names the credential; `endpoint` the URL asked.
    pub fn into_error(self, profile: &str, endpoint: &Url, client: &Client) -> Error {
        match self {
            GrantError::Failed(err)
            | GrantError::Lost(err)
            | GrantError::Unreachable(err)
            | GrantError::NoEndpoint(err) => err,
            GrantError::Refused { status } => Error::Rejected {
                profile: profile.to_string(),
                reason: format!(
                    "{} answered a bare HTTP {status} and gave no reason{}",
                    http::redact(endpoint),
                    if client.secret.is_some() { "; check the client secret" } else { "" }
                ),
            },
            GrantError::OAuth { code, description } => {
                classify_oauth_error(&code, description, profile, endpoint, client)
            }
        }
    }
}

/// The classification table in the module docs.
pub fn classify_oauth_error(
    code: &str,
    description: Option<String>,
    profile: &str,
    endpoint: &Url,
    client: &Client,
) -> Error {
    let shown = http::redact(endpoint);
    let detail = match &description {
        Some(d) => format!("{code}: {}", sanitize(d)),
        None => code.to_string(),
    };
    match code {
        "invalid_grant" | "invalid_token" => Error::Rejected { profile: profile.to_string(), reason: detail },
        "invalid_client" if client.secret.is_some() => Error::Rejected {
            profile: profile.to_string(),
            reason: format!("{detail}; check the client secret"),
        },
        // Entra says authorization_declined where RFC 8628 says access_denied.
        "access_denied" | "authorization_declined" => {
            Error::Denied { reason: format!("the authorization was denied ({detail})") }
        }
        "expired_token" => {
            Error::Denied { reason: format!("the code expired before it was approved ({detail})") }
        }
        "server_error" | "temporarily_unavailable" => Error::Unavailable { endpoint: shown, reason: detail },
        _ => Error::Protocol { endpoint: shown, reason: format!("it answered {detail}") },
    }
}

/// The longest piece of provider text vouch shows, in characters (an ellipsis included).
pub const MAX_SHOWN: usize = 200;

/// Form parameters whose values are secrets (RFC 6749, 7009, 7636, 8628, 7523, 8693).
const SECRET_PARAMS: &[&str] = &[
    "refresh_token",
    "code",
    "code_verifier",
    "device_code",
    "client_secret",
    "token",
    "password",
    "assertion",
    "client_assertion",
    "subject_token",
    "actor_token",
];

/// Makes provider text fit to show: the one way provider text reaches an [`Error`] or the
/// terminal. It knows the secrets of the current operation (what the request sent: refresh
/// token, client secret, authorization code, PKCE verifier, device code; what authenticated
/// it: the access token) and replaces each with `[redacted]`, so a provider that echoes a
/// request in its `error_description` does not get vouch to print a secret.
///
/// [`Redactor::clean`] drops control characters, Unicode format characters (bidirectional
/// overrides and isolates, zero-width characters, the BOM: category Cf) and line/paragraph
/// separators, then redacts, then bounds the text to [`MAX_SHOWN`] characters. Redaction runs
/// after the stripping (a zero-width space inside an echoed token cannot hide it) and before
/// the bound (a secret cut in half by the bound is still found).
#[derive(Default)]
pub struct Redactor {
    secrets: Vec<Zeroizing<String>>,
}

impl Redactor {
    /// The secrets a request to the provider carries: `params`' secret values and the
    /// client's secret.
    pub fn for_request(client: &Client, params: &[(&str, &str)]) -> Self {
        let mut redactor = Redactor::default();
        if let Some(secret) = &client.secret {
            redactor = redactor.with(secret.expose_secret());
        }
        for (key, value) in params {
            if SECRET_PARAMS.contains(key) {
                redactor = redactor.with(value);
            }
        }
        redactor
    }

    /// One more secret to hide: as given, printable-only, and form-urlencoded (the shapes a
    /// provider may echo it in).
    pub fn with(mut self, secret: &str) -> Self {
        let printable: Zeroizing<String> = Zeroizing::new(secret.chars().filter(|c| is_shown(*c)).collect());
        let encoded =
            Zeroizing::new(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>());
        for form in [Zeroizing::new(secret.to_string()), printable, encoded] {
            if !form.is_empty() && !self.secrets.contains(&form) {
                self.secrets.push(form);
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        self
    }

    /// `text` as vouch may show it: printable, without this operation's secrets, bounded.
    pub fn clean(&self, text: &str) -> String {
        let mut shown: String = text.chars().filter(|c| is_shown(*c)).collect();
        for secret in &self.secrets {
            if shown.contains(secret.as_str()) {
                let replaced = shown.replace(secret.as_str(), "[redacted]");
                shown.zeroize();
                shown = replaced;
            }
        }
        if shown.chars().count() > MAX_SHOWN {
            let cut = shown.char_indices().nth(MAX_SHOWN - 1).map_or(shown.len(), |(i, _)| i);
            shown.truncate(cut);
            shown.push('…');
        }
        shown
    }
}

/// Provider text shown to the user when no secret of the operation is at hand (discovery
/// documents, ID token claims, the browser redirect): [`Redactor::clean`] without secrets.
pub fn sanitize(text: &str) -> String {
    Redactor::default().clean(text)
}

/// Whether a character of provider text may reach the terminal: not a control character,
/// not a format character (Unicode category Cf), not a line or paragraph separator.
pub fn is_shown(c: char) -> bool {
    !c.is_control() && !is_format(c) && !matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode general category Cf (format characters), as of Unicode 15.1.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<AccessToken>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<RefreshToken>,
    /// GitHub App user tokens: how long the refresh token lasts.
    refresh_token_expires_in: Option<serde_json::Value>,
    scope: Option<String>,
    id_token: Option<IdToken>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
}

/// Read an OAuth error out of a response, if it carries one (whatever its status). The code
/// and description are provider text: they leave here cleaned by `redactor`, which holds the
/// secrets of the request that drew this answer.
pub fn oauth_error(response: &Response, redactor: &Redactor) -> Option<GrantError> {
    let body: ErrorBody = serde_json::from_slice(&response.body).ok()?;
    let code = body.error.map(|c| redactor.clean(&c)).filter(|c| !c.is_empty())?;
    let description = body.error_description.map(|d| redactor.clean(&d)).filter(|d| !d.is_empty());
    Some(GrantError::OAuth { code, description })
}

/// Classify a response that is not a success and carries no OAuth error.
pub fn unexpected_status(response: &Response, endpoint: &Url) -> Error {
    let shown = http::redact(endpoint);
    match response.status {
        429 | 500..=599 => {
            let retry = response
                .retry_after
                .as_ref()
                .map(|r| format!(", retry after {}", sanitize(r)))
                .unwrap_or_default();
            Error::Unavailable { endpoint: shown, reason: format!("HTTP {}{retry}", response.status) }
        }
        status => Error::Protocol { endpoint: shown, reason: format!("unexpected HTTP {status}") },
    }
}

/// POST a grant to the token endpoint and parse the answer.
pub fn token_request(
    ctx: &mut Context,
    url: &Url,
    client: &Client,
    params: &[(&str, &str)],
) -> Result<Tokens, GrantError> {
    let response = client.post_tracked(ctx, url, params).map_err(|failure| match failure {
        http::Failure { error, maybe_delivered: true, .. } => GrantError::Lost(error),
        http::Failure { error, unreachable: true, .. } => GrantError::Unreachable(error),
        http::Failure { error, .. } => GrantError::Failed(error),
    })?;
    let tokens = parse_token_response(&response, url, &Redactor::for_request(client, params))?;
    check_token_type(&tokens, client.dpop.is_some(), url)?;
    Ok(tokens)
}

/// The token type must be what the client asked for: `DPoP` when it sent a proof, `Bearer`
/// otherwise (RFC 9449 §5). A provider that ignores DPoP would hand out a token anyone who
/// copies it can use; one that binds an unasked-for key cannot be used by vouch. Either way it
/// answered success, so it acted on the grant: the error is a lost answer (exit 9).
pub fn check_token_type(tokens: &Tokens, dpop: bool, url: &Url) -> Result<(), GrantError> {
    let reason = match (dpop, tokens.token_type.as_str()) {
        (true, "DPoP") | (false, "Bearer") => return Ok(()),
        (true, _) => {
            "it issued a Bearer token although vouch asked for a DPoP-bound one (token_type DPoP); \
             the provider may not support DPoP: sign in without --dpop (and set dpop = false in the profile)"
        }
        (false, _) => "it issued a DPoP-bound token although vouch did not ask for one; sign in with --dpop",
    };
    Err(GrantError::Lost(Error::Protocol { endpoint: http::redact(url), reason: reason.to_string() }))
}

/// Parse a token endpoint response (RFC 6749 §5.1 and §5.2). `redactor` holds the secrets
/// of the request.
pub fn parse_token_response(
    response: &Response,
    url: &Url,
    redactor: &Redactor,
) -> Result<Tokens, GrantError> {
    if let Some(err) = oauth_error(response, redactor) {
        // An HTTP 5xx or 429 with an OAuth body is still the server being unwell or busy;
        // only `slow_down` has a meaning of its own there (RFC 8628 §3.5).
        let slow_down = matches!(&err, GrantError::OAuth { code, .. } if code == "slow_down");
        if (response.status >= 500 || response.status == 429) && !slow_down {
            return Err(GrantError::Failed(unexpected_status(response, url)));
        }
        return Err(err);
    }
    match response.status {
        400 | 401 | 403 => return Err(GrantError::Refused { status: response.status }),
        // A gateway that gave up waiting: the provider behind it may have acted. (A 502 or 503
        // says the gateway could not reach or use it: not acted on.)
        504 => return Err(GrantError::Lost(unexpected_status(response, url))),
        404 => return Err(GrantError::NoEndpoint(unexpected_status(response, url))),
        _ if !response.is_success() => return Err(GrantError::Failed(unexpected_status(response, url))),
        _ => {}
    }
    // From here the provider answered success: it acted on the grant, so an answer vouch
    // cannot use is a lost answer.
    let protocol = |reason: &str| {
        GrantError::Lost(Error::Protocol { endpoint: http::redact(url), reason: reason.to_string() })
    };
    let body: TokenBody = serde_json::from_slice(&response.body)
        .map_err(|_| protocol("its token response is not valid JSON"))?;
    if body.error.is_some() {
        return Err(protocol("its token response carries an empty error"));
    }
    let _ = body.error_description;
    let access_token = body
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| protocol("its token response has no access_token"))?;
    if !access_token.expose_secret().bytes().all(|b| b.is_ascii_graphic()) {
        return Err(protocol("its access token contains characters a bearer token cannot have"));
    }
    let token_type = body.token_type.unwrap_or_else(|| "Bearer".to_string());
    let known = if token_type.eq_ignore_ascii_case("bearer") {
        "Bearer"
    } else if token_type.eq_ignore_ascii_case("dpop") {
        "DPoP"
    } else {
        ""
    };
    if known.is_empty() {
        let mut redactor = Redactor { secrets: redactor.secrets.clone() }.with(access_token.expose_secret());
        if let Some(refresh) = &body.refresh_token {
            redactor = redactor.with(refresh.expose_secret());
        }
        return Err(protocol(&format!(
            "it issued a '{}' token; vouch supports Bearer and DPoP tokens only",
            redactor.clean(&token_type)
        )));
    }
    let expires_in =
        match body.expires_in {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(parse_expires_in(&value).ok_or_else(|| {
                protocol("its expires_in is not a positive number of seconds up to ten years")
            })?),
        };
    Ok(Tokens {
        access_token,
        token_type: known.to_string(),
        expires_in,
        refresh_token: body.refresh_token.filter(|t| !t.is_empty()),
        scope: body.scope.map(|s| s.chars().filter(|c| is_shown(*c)).collect()),
        id_token: body.id_token.filter(|t| !t.is_empty()),
        refresh_expires_in: body.refresh_token_expires_in.as_ref().and_then(parse_expires_in),
    })
}

/// `expires_in` as a number, or a numeric string (some providers send one); 1 s to 10 years.
pub fn parse_expires_in(value: &serde_json::Value) -> Option<u64> {
    let n = match value {
        serde_json::Value::Number(n) => {
            n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))?
        }
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (1..=MAX_EXPIRES_IN).contains(&n).then_some(n)
}

/// What an ID token must say (OIDC Core §3.1.3.7). Received straight from the token
/// endpoint over TLS, its signature need not be checked.
pub struct IdTokenExpectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    pub now: u64,
}

/// Check an ID token's claims; returns the subject's most human name when it has one.
pub fn check_id_token(
    token: &IdToken,
    expect: &IdTokenExpectations<'_>,
    from: &str,
) -> Result<IdClaims, Error> {
    use base64::Engine;
    let protocol = |reason: String| Error::Protocol { endpoint: from.to_string(), reason };
    let payload = token
        .expose_secret()
        .split('.')
        .nth(1)
        .ok_or_else(|| protocol("its id_token is not a JWT".into()))?;
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| protocol("its id_token payload is not base64url".into()))?,
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| protocol("its id_token payload is not JSON".into()))?;
    let iss = claims.get("iss").and_then(|v| v.as_str()).unwrap_or_default();
    if iss != expect.issuer {
        return Err(protocol(format!(
            "its id_token was issued by '{}', not '{}'",
            sanitize(iss),
            expect.issuer
        )));
    }
    let aud_ok = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => a == expect.client_id,
        Some(serde_json::Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expect.client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(protocol(format!("its id_token is not meant for client '{}'", expect.client_id)));
    }
    // OIDC Core §3.1.3.7 step 5: an authorized party, when named, must be this client.
    if let Some(azp) = claims.get("azp").and_then(|v| v.as_str())
        && azp != expect.client_id
    {
        return Err(protocol(format!("its id_token was issued to another party ('{}')", sanitize(azp))));
    }
    // Allow a minute of clock skew. NumericDate may be fractional (RFC 7519 §2).
    let exp = claims
        .get("exp")
        .and_then(|v| v.as_u64().or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)));
    match exp {
        Some(exp) if exp.saturating_add(60) > expect.now => {}
        _ => return Err(protocol("its id_token has expired or has no exp".into())),
    }
    if let Some(nonce) = expect.nonce
        && claims.get("nonce").and_then(|v| v.as_str()) != Some(nonce)
    {
        return Err(protocol("its id_token does not carry the nonce vouch sent".into()));
    }
    let text = |key: &str| claims.get(key).and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(sanitize);
    Ok(IdClaims {
        account: ["preferred_username", "email", "sub"].iter().find_map(|k| text(k)),
        session: text("sid"),
    })
}

/// What vouch keeps from a checked ID token.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IdClaims {
    /// The most human name of the subject.
    pub account: Option<String>,
    /// The provider session (`sid`, OIDC Front/Back-Channel Logout), when the token names one.
    pub session: Option<String>,
}

/// What came of a revocation the provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// The token is revoked (or was unknown, RFC 7009 §2.2).
    Yes,
    /// The provider refused for good: asking again gets the same answer (see
    /// [`refused_for_good`]). The token stays valid at the provider until it expires.
    Refused { reason: String },
}

/// The warning for a revocation refused for good, worded the same by every command.
/// `what` names the credential ("the credential of 'work'").
pub fn refused_warning(what: &str, reason: &str) -> String {
    format!(
        "warning: the provider refused to revoke {what} ({reason}); it stays valid at the provider until it expires"
    )
}

/// Whether a failed revocation is final: the one place that decides between "give up and
/// say so" and "keep what is needed to try again later".
///
/// Transient (false): 429, 5xx, `server_error`, `temporarily_unavailable`; transport failures
/// never reach here. Also false: `invalid_client` (or a bare 401) for a confidential client,
/// because its stored secret is wrong, which the person can fix. Every other 4xx is final:
/// 401/403 for a public client on a provider that wants client authentication at `/revoke`,
/// `unauthorized_client`, `unsupported_token_type` (RFC 7009 §2.2.1), `invalid_request`.
pub fn refused_for_good(status: u16, code: Option<&str>, client: &Client) -> bool {
    let confidential = client.secret.is_some();
    match (status, code) {
        (429 | 500..=599, _) => false,
        (_, Some("server_error" | "temporarily_unavailable")) => false,
        (_, Some("invalid_client")) | (401, None) if confidential => false,
        (400..=499, _) => true,
        _ => false,
    }
}

/// Revoke a token (RFC 7009). `Ok(Refused)` when the provider refused for good; `Err` when
/// the revocation could not be done now (or the client's own secret is wrong).
pub fn revoke(
    ctx: &mut Context,
    url: &Url,
    client: &Client,
    token: &str,
    hint: &str,
) -> Result<Revoked, Error> {
    let params = [("token", token), ("token_type_hint", hint)];
    let response = client.post(ctx, url, &params)?;
    if response.is_success() {
        return Ok(Revoked::Yes);
    }
    let error = oauth_error(&response, &Redactor::for_request(client, &params));
    let code = match &error {
        Some(GrantError::OAuth { code, .. }) => Some(code.as_str()),
        _ => None,
    };
    if refused_for_good(response.status, code, client) {
        let reason = match &error {
            Some(GrantError::OAuth { code, description: Some(d) }) => {
                format!("HTTP {}, {code}: {d}", response.status)
            }
            Some(GrantError::OAuth { code, .. }) => format!("HTTP {}, {code}", response.status),
            _ => format!("HTTP {}", response.status),
        };
        ctx.log(format_args!("revoke {hint}: refused for good ({})", response.status));
        return Ok(Revoked::Refused { reason });
    }
    match error {
        Some(err) if response.status < 500 && response.status != 429 => Err(err.into_error("", url, client)),
        _ => Err(unexpected_status(&response, url)),
    }
}

/// A random URL-safe string from `bytes` bytes of OS randomness (state, nonce, PKCE verifier).
pub fn random_token(bytes: usize) -> Result<String, Error> {
    use base64::Engine;
    let mut buf = Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(&mut buf).map_err(|_| Error::internal("the operating system gave no randomness"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            body: Zeroizing::new(body.as_bytes().to_vec()),
            www_authenticate: None,
            retry_after: None,
            date: None,
            cache_control: None,
            age: None,
            dpop_nonce: None,
            headers: Vec::new(),
        }
    }

    fn url() -> Url {
        Url::parse("https://idp.example/token").unwrap()
    }

    fn code_of(result: Result<Tokens, GrantError>, secret: bool) -> u8 {
        let client = Client {
            secret: secret.then(|| ClientSecret::new("s")),
            ..Client::public("https://id.example", "c")
        };
        result.unwrap_err().into_error("p", &url(), &client).exit_code()
    }

    #[test]
    fn token_responses_parse_into_secret_types() {
        let ok = parse_token_response(
            &response(200, r#"{"access_token":"at","token_type":"bearer","expires_in":"3600","refresh_token":"rt","scope":"a b"}"#),
            &url(),
            &Redactor::default(),
        )
        .unwrap();
        assert_eq!(ok.access_token.expose_secret(), "at");
        assert_eq!(ok.expires_in, Some(3600));
        assert_eq!(ok.refresh_token.unwrap().expose_secret(), "rt");
    }

    #[test]
    fn every_oauth_error_maps_to_its_exit_code() {
        let cases = [
            (400, r#"{"error":"invalid_grant"}"#, false, 4),
            (400, r#"{"error":"invalid_token"}"#, false, 4),
            (401, r#"{"error":"invalid_client"}"#, true, 4),
            (401, r#"{"error":"invalid_client"}"#, false, 9),
            (400, r#"{"error":"unsupported_grant_type"}"#, false, 9),
            (400, r#"{"error":"unauthorized_client"}"#, false, 9),
            (400, r#"{"error":"access_denied"}"#, false, 10),
            (400, r#"{"error":"expired_token"}"#, false, 10),
            (200, r#"{"error":"access_denied","error_description":"GitHub style"}"#, false, 10),
            (503, r#"{"error":"temporarily_unavailable"}"#, false, 5),
            (500, "<html>oops</html>", false, 5),
            (429, "", false, 5),
            (200, "<html>not json</html>", false, 9),
            (200, r#"{"token_type":"Bearer"}"#, false, 9),
            (200, r#"{"access_token":"a","token_type":"MAC"}"#, false, 9),
            (200, r#"{"access_token":"a","expires_in":-5}"#, false, 9),
            (200, r#"{"access_token":"a","expires_in":99999999999999}"#, false, 9),
            (200, r#"{"access_token":"a b"}"#, false, 9),
            (302, "", false, 9),
        ];
        for (status, body, secret, code) in cases {
            assert_eq!(
                code_of(parse_token_response(&response(status, body), &url(), &Redactor::default()), secret),
                code,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn the_token_type_must_be_the_one_asked_for() {
        let parse =
            |body: &str| parse_token_response(&response(200, body), &url(), &Redactor::default()).unwrap();
        let dpop = parse(r#"{"access_token":"a","token_type":"dpop"}"#);
        assert_eq!(dpop.token_type, "DPoP");
        let bearer = parse(r#"{"access_token":"a"}"#);
        assert!(check_token_type(&dpop, true, &url()).is_ok());
        assert!(check_token_type(&bearer, false, &url()).is_ok());
        for (tokens, asked) in [(&bearer, true), (&dpop, false)] {
            let err = check_token_type(tokens, asked, &url()).unwrap_err();
            assert!(matches!(err, GrantError::Lost(_)), "the provider acted on the grant: {err:?}");
            assert_eq!(
                err.into_error("p", &url(), &Client::public("https://id.example", "c")).exit_code(),
                9
            );
        }
    }

    #[test]
    fn id_token_claims_are_checked() {
        use base64::Engine;
        let make = |claims: serde_json::Value| {
            let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
            IdToken::new(format!("{}.{}.sig", enc(br#"{"alg":"RS256"}"#), enc(claims.to_string().as_bytes())))
        };
        let expect =
            IdTokenExpectations { issuer: "https://idp", client_id: "cli", nonce: Some("n1"), now: 1000 };
        let good =
            serde_json::json!({"iss":"https://idp","aud":["cli","x"],"exp":2000,"nonce":"n1","email":"a@x"});
        assert_eq!(check_id_token(&make(good), &expect, "x").unwrap().account.as_deref(), Some("a@x"));
        for bad in [
            serde_json::json!({"iss":"https://evil","aud":"cli","exp":2000,"nonce":"n1"}),
            serde_json::json!({"iss":"https://idp","aud":"other","exp":2000,"nonce":"n1"}),
            serde_json::json!({"iss":"https://idp","aud":"cli","exp":100,"nonce":"n1"}),
            serde_json::json!({"iss":"https://idp","aud":"cli","exp":2000,"nonce":"n2"}),
            serde_json::json!({"iss":"https://idp","aud":"cli","exp":2000}),
        ] {
            assert_eq!(check_id_token(&make(bad.clone()), &expect, "x").unwrap_err().exit_code(), 9, "{bad}");
        }
        assert!(check_id_token(&IdToken::new("garbage"), &expect, "x").is_err());
    }

    #[test]
    fn post_is_chosen_only_when_basic_is_not_offered() {
        assert_eq!(choose_auth_method(&[]), AuthMethod::ClientSecretBasic);
        assert_eq!(choose_auth_method(&["client_secret_post".into()]), AuthMethod::ClientSecretPost);
        assert_eq!(
            choose_auth_method(&["client_secret_post".into(), "client_secret_basic".into()]),
            AuthMethod::ClientSecretBasic
        );
    }

    #[test]
    fn the_permanent_or_transient_decision_is_a_table() {
        let public = Client::public("https://id.example", "cli");
        let confidential =
            Client { secret: Some(ClientSecret::new("s")), ..Client::public("https://id.example", "svc") };
        let cases: &[(u16, Option<&str>, &Client, bool)] = &[
            (401, None, &public, true),
            (401, Some("invalid_client"), &public, true),
            (403, None, &public, true),
            (400, Some("unauthorized_client"), &public, true),
            (400, Some("unsupported_token_type"), &confidential, true),
            (403, None, &confidential, true),
            // A confidential client's own secret is wrong: fixable, so not final.
            (401, Some("invalid_client"), &confidential, false),
            (401, None, &confidential, false),
            // Transient.
            (429, None, &public, false),
            (500, None, &public, false),
            (503, Some("invalid_client"), &public, false),
            (400, Some("temporarily_unavailable"), &public, false),
            (400, Some("server_error"), &public, false),
        ];
        for (status, code, client, permanent) in cases {
            assert_eq!(refused_for_good(*status, *code, client), *permanent, "{status} {code:?}");
        }
    }

    #[test]
    fn provider_text_loses_format_characters_and_is_bounded_on_a_char_boundary() {
        let hostile =
            "a\u{202E}b\u{200B}c\u{2066}d\u{2069}e\u{FEFF}f\u{00AD}g\u{1b}[31mh\u{2028}i\u{E0041}j\tk\u{7f}";
        assert_eq!(sanitize(hostile), "abcdefg[31mhijk");
        let long = "é".repeat(500);
        let shown = sanitize(&long);
        assert_eq!(shown.chars().count(), MAX_SHOWN);
        assert!(shown.ends_with('…'));
        assert_eq!(sanitize(&shown), shown, "cleaning twice changes nothing");
        assert_eq!(sanitize("short"), "short");
    }

    #[test]
    fn the_redactor_hides_every_secret_of_the_request() {
        let client = Client {
            secret: Some(ClientSecret::new("client-s3cret")),
            ..Client::public("https://id.example", "cli")
        };
        let params = [
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-canary/+="),
            ("code_verifier", "verifier-canary"),
            ("scope", "openid"),
        ];
        let redactor = Redactor::for_request(&client, &params);
        let shown = redactor.clean(
            "bad refresh_token rt-canary/+= (rt-canary%2F%2B%3D) for client-s3\u{200B}cret, verifier-canary; scope openid",
        );
        assert_eq!(
            shown, "bad refresh_token [redacted] ([redacted]) for [redacted], [redacted]; scope openid",
            "parameter names and non-secret values stay"
        );
        // A secret that the bound would cut in half is still found.
        let text = format!("{}rt-canary/+=", "x".repeat(MAX_SHOWN - 5));
        assert!(!redactor.clean(&text).contains("rt-can"), "{}", redactor.clean(&text));
        // An OAuth error leaves oauth_error already cleaned, code included.
        let body = r#"{"error":"invalid_grant\u202e","error_description":"echo client-s3cret \u202e"}"#;
        match oauth_error(&response(400, body), &redactor) {
            Some(GrantError::OAuth { code, description }) => {
                assert_eq!(code, "invalid_grant");
                assert_eq!(description.as_deref(), Some("echo [redacted] "));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_token_type_echoing_the_new_token_is_redacted() {
        let body = r#"{"access_token":"fresh-access-canary","token_type":"fresh-access-canary"}"#;
        let err = parse_token_response(&response(200, body), &url(), &Redactor::default()).unwrap_err();
        let shown = err.into_error("p", &url(), &Client::public("https://id.example", "c")).to_string();
        assert!(!shown.contains("fresh-access-canary"), "{shown}");
    }
}
