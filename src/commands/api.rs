//! `vouch api`: call an API with a profile's token, as `gh api` does for GitHub.
//!
//! The token goes only where the profile says it may: the origin of its `api_base`, or a host
//! its `hosts` patterns match ([`crate::git::HostPattern`]). Anything else is refused (exit 2)
//! before the store is read, so `vouch api https://evil.example` hands nobody the token. The
//! URL must be https, or http to loopback. It is then registered as a place the profile's
//! issuer's token may go, and the request goes through [`crate::resource`] (Bearer, or DPoP
//! with a proof) and so through [`crate::http`]'s one send path.
//!
//! The token is refreshed just in time. After a `401` whose `WWW-Authenticate` says
//! `error="invalid_token"`, it is refreshed and the request sent once more; a DPoP nonce
//! challenge is answered once by [`crate::resource`]. Never more than once each.
//!
//! stdout is the data: the response body (with `-i`, the status line and headers first). The
//! HTTP status becomes the exit code through [`Error::ApiStatus`]. The token appears in no
//! output, log or error.

use super::Outcome;
use crate::cli::ApiArgs;
use crate::context::Context;
use crate::error::Error;
use crate::git::HostPattern;
use crate::helpers::Address;
use crate::http::{self, Body, Response};
use crate::resource::{self, Sent};
use crate::{identity, refresh};
use std::io::{Read, Write};
use url::Url;

/// The most pages `--paginate` follows.
const MAX_PAGES: usize = 100;

pub fn run(args: ApiArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let (name, target) = match args.target.as_slice() {
        [url] => (None, url.clone()),
        [name, url] => (Some(name.clone()), url.clone()),
        _ => return Err(Error::usage("`vouch api [NAME] URL` takes a profile and a URL")),
    };
    let method = args.method.to_ascii_uppercase();
    if !method.bytes().all(|b| b.is_ascii_uppercase()) || method.is_empty() {
        return Err(Error::usage(format!("'{}' is not an HTTP method", args.method)));
    }
    let mut headers = parse_headers(&args.headers)?;
    let (name, profile, key) = identity::profile(ctx, name.as_deref())?;
    let mut url = resolve(&target, profile.api_base.as_deref(), &name)?;
    allowed(&url, &profile, &name)?;
    let data = match &args.data {
        Some(data) => Some(read_data(ctx, data)?),
        None => None,
    };
    if data.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    if args.paginate && method != "GET" {
        return Err(Error::usage("--paginate follows pages of GET requests only"));
    }

    let mut record = refresh::usable_record(ctx, &key, &profile, args.min_ttl)?;
    let issuer = record.issuer.clone().unwrap_or_else(|| key.issuer.clone());
    for page in 0..MAX_PAGES {
        ctx.http_client().register_endpoints(&issuer, [&url]);
        let body = data.as_deref().map_or(Body::None, Body::Bytes);
        let sent = Sent { method: &method, url: &url, body, headers: &headers };
        let mut response =
            resource::send(ctx, &sent, &record.access_token, record.dpop_key.as_ref(), &issuer)
                .map_err(|f| f.error)?;
        if response.status == 401 && invalid_token(&response) {
            ctx.log(format_args!(
                "api: {} refused the token; refreshing and sending once more",
                http::redact(&url)
            ));
            record = refresh::refresh(ctx, &key, &profile, Some(record.generation))?;
            response = resource::send(ctx, &sent, &record.access_token, record.dpop_key.as_ref(), &issuer)
                .map_err(|f| f.error)?;
        }
        print(ctx, &response, args.include && page == 0)?;
        if !response.is_success() {
            return Err(Error::ApiStatus { url: http::redact(&url), status: response.status });
        }
        let next = if args.paginate { next_page(&response, &url) } else { None };
        match next {
            Some(next) => {
                allowed(&next, &profile, &name)?;
                url = next;
            }
            None => return Ok(Outcome::Done),
        }
    }
    ctx.note(format_args!("warning: stopped after {MAX_PAGES} pages"));
    Ok(Outcome::Done)
}

/// `target` as an absolute URL: as given, or relative to `api_base`.
fn resolve(target: &str, api_base: Option<&str>, profile: &str) -> Result<Url, Error> {
    let url = match Url::parse(target) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let base = api_base.ok_or_else(|| {
                Error::usage(format!(
                    "'{target}' is a relative URL, and profile '{profile}' has no api_base to resolve it against; \
                     set one with `vouch login {profile} --api-base URL`, or give the whole URL"
                ))
            })?;
            let mut base = http::user_url(base)?;
            // `/v1` + `items` is `/v1/items`: treat the base as a directory.
            if !base.path().ends_with('/') {
                let path = format!("{}/", base.path());
                base.set_path(&path);
            }
            base.join(target.trim_start_matches('/'))
                .map_err(|_| Error::usage(format!("'{target}' is not a valid URL")))?
        }
        Err(_) => return Err(Error::usage(format!("'{target}' is not a valid URL"))),
    };
    http::user_url(url.as_str())
}

/// Whether the profile lists `url`'s host: the origin of `api_base`, or one of `hosts`.
fn allowed(url: &Url, profile: &crate::config::Profile, name: &str) -> Result<(), Error> {
    let by_base = profile
        .api_base
        .as_deref()
        .and_then(|base| Url::parse(base).ok())
        .is_some_and(|base| base.origin() == url.origin());
    let by_hosts = Address::from_url(url.as_str()).is_some_and(|address| {
        profile
            .hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h).ok())
            .any(|pattern| pattern.matches(&address.protocol, &address.host, address.path.as_deref()))
    });
    if by_base || by_hosts {
        return Ok(());
    }
    Err(Error::usage(format!(
        "vouch refused to send the token of '{name}' to {}, which the profile does not list; \
         add the API with `vouch login {name} --api-base URL`, or its host to `hosts` in the profile",
        http::redact(url)
    )))
}

/// `-H 'Name: value'` as (name, value); never `Authorization` or `DPoP`, which vouch sets.
fn parse_headers(given: &[String]) -> Result<Vec<(String, String)>, Error> {
    given
        .iter()
        .map(|h| {
            let (name, value) = h
                .split_once(':')
                .filter(|(n, _)| !n.trim().is_empty() && n.trim().bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| Error::usage(format!("'{h}' is not a header: write -H 'Name: value'")))?;
            let name = name.trim();
            if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("dpop") {
                return Err(Error::usage(format!(
                    "vouch sets the {name} header itself; remove -H '{name}: ...'"
                )));
            }
            if value.contains(['\r', '\n']) {
                return Err(Error::usage(format!("the value of header {name} has a line break")));
            }
            Ok((name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// `--data`: `@FILE`, `-` (stdin), or the text itself.
fn read_data(ctx: &mut Context, data: &str) -> Result<Vec<u8>, Error> {
    if data == "-" {
        let mut bytes = Vec::new();
        ctx.stdin.read_to_end(&mut bytes).map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
        return Ok(bytes);
    }
    match data.strip_prefix('@') {
        Some(path) => std::fs::read(path).map_err(|e| Error::usage(format!("cannot read {path}: {e}"))),
        None => Ok(data.as_bytes().to_vec()),
    }
}

/// A 401 that says the token is invalid (RFC 6750 §3.1; RFC 9449 §7.1 uses the same code).
fn invalid_token(response: &Response) -> bool {
    response.www_authenticate.as_deref().is_some_and(|h| h.contains("invalid_token"))
}

/// The `rel="next"` target of a `Link` header (RFC 8288), resolved against `url`.
fn next_page(response: &Response, url: &Url) -> Option<Url> {
    let links = response.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("link")).map(|(_, v)| v);
    links.flat_map(|v| v.split(',')).find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next")
            .then(|| url.join(target).ok())?
    })
}

fn print(ctx: &mut Context, response: &Response, include: bool) -> Result<(), Error> {
    let failed = |e: std::io::Error| Error::internal(format!("cannot write to stdout: {e}"));
    if include {
        let mut head = format!("HTTP {}\r\n", response.status);
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        ctx.stdout.write_all(head.as_bytes()).map_err(failed)?;
    }
    ctx.stdout.write_all(&response.body).map_err(failed)?;
    ctx.stdout.flush().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    fn profile(api_base: Option<&str>, hosts: &[&str]) -> Profile {
        Profile {
            api_base: api_base.map(str::to_string),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..Profile::default()
        }
    }

    #[test]
    fn the_token_goes_only_to_listed_hosts() {
        let p = profile(Some("https://api.example/v1"), &["git.example/org"]);
        let ok = |u: &str| allowed(&Url::parse(u).unwrap(), &p, "w").is_ok();
        assert!(ok("https://api.example/v1/items"));
        assert!(ok("https://api.example/other"), "api_base admits its origin");
        assert!(ok("https://git.example/org/repo"));
        assert!(!ok("https://git.example/other"));
        assert!(!ok("https://evil.example/v1/items"));
        assert!(!ok("https://api.example.evil/v1"));
        assert!(!ok("https://api.example:8443/v1"), "another port is another origin");
        let err = allowed(&Url::parse("https://evil.example/").unwrap(), &p, "w").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("api-base") && err.to_string().contains("hosts"), "{err}");
    }

    #[test]
    fn relative_urls_resolve_against_api_base() {
        let r = |t: &str, b: Option<&str>| resolve(t, b, "w").map(|u| u.to_string());
        assert_eq!(
            r("/items?a=1", Some("https://api.example/v1")).unwrap(),
            "https://api.example/v1/items?a=1"
        );
        assert_eq!(r("items", Some("https://api.example/v1/")).unwrap(), "https://api.example/v1/items");
        assert_eq!(r("items", None).unwrap_err().exit_code(), 2);
        assert_eq!(r("http://api.example/x", None).unwrap_err().exit_code(), 2, "plain http off loopback");
        assert!(r("http://127.0.0.1:9/x", None).is_ok());
    }

    #[test]
    fn vouch_sets_authorization_itself() {
        assert!(parse_headers(&["Authorization: Bearer x".into()]).is_err());
        assert!(parse_headers(&["dpop: x".into()]).is_err());
        assert!(parse_headers(&["no colon".into()]).is_err());
        assert_eq!(
            parse_headers(&["Accept:  text/plain ".into()]).unwrap(),
            vec![("Accept".to_string(), "text/plain".to_string())]
        );
    }
}
