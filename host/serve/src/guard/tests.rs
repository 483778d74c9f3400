use super::{check, is_own_host};
use axum::http::{HeaderMap, HeaderValue, Method};
use std::net::SocketAddr;

fn loopback() -> SocketAddr {
    "127.0.0.1:4943".parse().unwrap()
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn status(method: Method, pairs: &[(&'static str, &str)], listen: SocketAddr) -> Option<u16> {
    check(&method, &headers(pairs), listen)
        .err()
        .map(|e| e.status().as_u16())
}

#[test]
fn rule_a_host_is_localhost_or_an_address_listened_on() {
    let all: SocketAddr = "0.0.0.0:4943".parse().unwrap();
    for (host, listen, own) in [
        ("127.0.0.1:4943", loopback(), true),
        ("localhost:4943", loopback(), true),
        ("LOCALHOST", loopback(), true),
        ("127.0.0.2:4943", loopback(), false),
        ("[::1]:4943", loopback(), false),
        ("evil.example:4943", loopback(), false),
        ("localhost.evil.example", loopback(), false),
        ("10.1.2.3:4943", all, true),
        ("[::1]:4943", all, true),
        ("evil.example:4943", all, false),
        ("", loopback(), false),
    ] {
        assert_eq!(is_own_host(host, listen), own, "{host} on {listen}");
    }
    assert_eq!(
        status(Method::GET, &[("host", "evil.example")], loopback()),
        Some(403)
    );
    // No Host at all (HTTP/1.0): no browser sends that.
    assert_eq!(status(Method::GET, &[], loopback()), None);
}

#[test]
fn rule_b_only_the_servers_own_origin_passes() {
    let own = [
        ("host", "127.0.0.1:4943"),
        ("origin", "http://127.0.0.1:4943"),
    ];
    assert_eq!(status(Method::GET, &own, loopback()), None);
    for origin in [
        "http://evil.example",
        "null",
        "http://127.0.0.1:4944",
        "https://127.0.0.1:4943",
    ] {
        let foreign = [("host", "127.0.0.1:4943"), ("origin", origin)];
        assert_eq!(
            status(Method::GET, &foreign, loopback()),
            Some(403),
            "{origin}"
        );
    }
    assert_eq!(
        status(
            Method::GET,
            &[("origin", "http://127.0.0.1:4943")],
            loopback()
        ),
        Some(403)
    );
    for (site, refused) in [
        ("cross-site", true),
        ("same-site", true),
        ("same-origin", false),
        ("none", false),
    ] {
        let got = status(Method::GET, &[("sec-fetch-site", site)], loopback());
        assert_eq!(got.is_some(), refused, "{site}");
    }
}

#[test]
fn rule_c_a_post_a_page_could_send_unasked_gets_415() {
    for simple in [
        "",
        "text/plain",
        "text/plain; charset=utf-8",
        "Application/X-WWW-Form-Urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let pairs: &[(&'static str, &str)] = if simple.is_empty() {
            &[]
        } else {
            &[("content-type", simple)]
        };
        assert_eq!(
            status(Method::POST, pairs, loopback()),
            Some(415),
            "{simple:?}"
        );
        // Reads may be simple.
        assert_eq!(status(Method::GET, pairs, loopback()), None, "{simple:?}");
    }
    for typed in [
        "text/x-candid",
        "application/candid",
        "application/octet-stream",
        "application/json",
    ] {
        assert_eq!(
            status(Method::POST, &[("content-type", typed)], loopback()),
            None,
            "{typed}"
        );
    }
}
