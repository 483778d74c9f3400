//! Who may use the JSON API. Anyone who reaches the port may call canisters, as on the IC;
//! a web page the operator visits may not (it could reach a loopback port through the
//! browser), and only the operator may install, upgrade or dump.
//!
//! # Rules
//!
//! - (A) A request whose `Host` is neither `localhost` nor an IP address the server
//!   listens on gets 403: a page whose DNS name was rebound to 127.0.0.1 names itself there.
//! - (B) A request whose `Origin` is not the server's own (`http://` and its `Host`), or
//!   whose `Sec-Fetch-Site` says another site sent it, gets 403.
//! - (C) A POST must carry a content type that a page cannot send without the browser first
//!   asking the server (a CORS preflight, which this server never grants): none, `text/plain`
//!   and the form types get 415. So with (B) no page can send a write, even where a browser
//!   leaves `Origin` out.
//! - (D) `POST /install/…` and `GET /dump/…` need `Authorization: Bearer TOKEN`, the token
//!   in the data dir's `serve.token`: 401 without it, 403 with another; checked before the
//!   body is read, so nothing is read, installed or dumped.
//! - (E) The IC interface (`/api/…`) is open to pages of any origin, as the IC is: its
//!   senders are verified signatures (or anonymous), so a page can act only as itself,
//!   and a front end served from a dev server must reach it. Rule A still holds; B and C do
//!   not; a preflight (`OPTIONS`) is granted, and answers carry
//!   `Access-Control-Allow-Origin: *`.
//! - (F) A refusal (4xx, 5xx) of a request that sent a body carries `Connection: close`,
//!   and the connection closes after it: the body may be unread (refused before it was
//!   read, or over the cap), and a keep-alive client that is not told would send its next
//!   request down a connection the server is closing.

use super::api::{ApiError, Shared};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Rules A to C, before any route; and rule F after it.
pub(crate) async fn same_origin(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let sends_a_body = sends_a_body(request.headers());
    let response = if request.uri().path().starts_with("/api/") {
        open_to_all(request, next, shared.addr).await
    } else {
        match check(request.method(), request.headers(), shared.addr) {
            Ok(()) => next.run(request).await,
            Err(refused) => refused.into_response(),
        }
    };
    closing_if_refused(response, sends_a_body)
}

/// Whether a request's headers announce a body (a length above 0, or chunks).
fn sends_a_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || (headers.get(header::CONTENT_LENGTH))
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|len| len > 0)
}

/// Rule F: a refusal of a request that sent a body says `Connection: close`.
fn closing_if_refused(mut response: Response, sends_a_body: bool) -> Response {
    let refused = response.status().is_client_error() || response.status().is_server_error();
    if refused && sends_a_body {
        (response.headers_mut()).insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Rule E, for the IC interface.
async fn open_to_all(request: Request, next: Next, listen: SocketAddr) -> Response {
    if let Err(refused) = check_host(request.headers(), listen) {
        return refused.into_response();
    }
    let mut response = if request.method() == Method::OPTIONS {
        let mut granted = StatusCode::NO_CONTENT.into_response();
        let headers = granted.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::HeaderValue::from_static("content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            header::HeaderValue::from_static("600"),
        );
        granted
    } else {
        next.run(request).await
    };
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    response
}

/// Rule A.
fn check_host(headers: &HeaderMap, listen: SocketAddr) -> Result<(), ApiError> {
    let Some(host) = headers.get(header::HOST) else {
        return Ok(());
    };
    let host = host
        .to_str()
        .map_err(|_| ApiError::bad(format!("{} is not ASCII", header::HOST)))?;
    if is_own_host(host, listen) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("Host `{host}` is not this server's: use localhost or its IP address"),
        ))
    }
}

fn check(method: &Method, headers: &HeaderMap, listen: SocketAddr) -> Result<(), ApiError> {
    let forbidden = |message: String| ApiError::new(StatusCode::FORBIDDEN, message);
    let text = |name: header::HeaderName| {
        headers
            .get(&name)
            .map(|v| {
                v.to_str()
                    .map_err(|_| ApiError::bad(format!("{name} is not ASCII")))
            })
            .transpose()
    };
    check_host(headers, listen)?;
    let host = text(header::HOST)?;
    if let Some(origin) = text(header::ORIGIN)? {
        let own = host.is_some_and(|host| origin.eq_ignore_ascii_case(&format!("http://{host}")));
        if !own {
            return Err(forbidden(format!(
                "requests from web pages of another origin (`{origin}`) are refused"
            )));
        }
    }
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))? {
        if !matches!(site, "same-origin" | "none") {
            return Err(forbidden(format!(
                "requests from web pages of another origin (Sec-Fetch-Site: {site}) are refused"
            )));
        }
    }
    if method == Method::POST {
        let essence = text(header::CONTENT_TYPE)?.map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let simple = match essence.as_deref() {
            None | Some("") => true,
            Some(t) => matches!(
                t,
                "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
            ),
        };
        if simple {
            let said = essence.map_or("no content type".into(), |t| format!("content type `{t}`"));
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("{said}: a web page may send that to any server, so it is refused; send Candid text as text/x-candid, a Candid message as application/candid, an install as application/json"),
            ));
        }
    }
    Ok(())
}

/// `localhost`, or an IP address the server listens on (any, if it listens on all).
fn is_own_host(host: &str, listen: SocketAddr) -> bool {
    let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    let name = authority.host();
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => listen.ip().is_unspecified() || ip == listen.ip(),
        Err(_) => false,
    }
}

/// A request that carries the operator's token (rule D): the first argument of the
/// handlers that install and dump.
pub(crate) struct Operator;

impl FromRequestParts<Arc<Shared>> for Operator {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Operator, Response> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            // The scheme's name is case-insensitive (RFC 9110).
            .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token));
        let file = format!("{}/{}", shared.data_dir, super::TOKEN_FILE);
        match token {
            Some(token) if shared.token.matches(token.trim()) => Ok(Operator),
            Some(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("the token is not this server's: send the one in {file}"),
            )
            .into_response()),
            None => {
                let mut refused = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    format!("installing and dumping are the operator's: send `Authorization: Bearer TOKEN` with the token in {file}"),
                )
                .into_response();
                refused.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
                Err(refused)
            }
        }
    }
}

#[cfg(test)]
mod tests;
