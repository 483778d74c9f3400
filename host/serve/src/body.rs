//! Request bodies: read with a cap, two timeouts and a share of the server's body budget.
//!
//! # Invariants
//!
//! - (A) A body over its cap is refused (413) from its `Content-Length` when that says
//!   more, else as soon as more than the cap has arrived; it is never read whole.
//! - (B) A request holds of the body budget ([`BODY_BUDGET_KIB`] across the server) what
//!   has arrived of its body, in KiB rounded up, and never more than its cap: a client that
//!   declares 8 MiB and sends a byte holds 1 KiB. Slow clients so hold what they sent, not
//!   the budget: to take it from others, one must send it. Past the budget, 503.
//! - (C) A body that pauses longer than [`ServeConfig::body_idle_timeout`] between two
//!   pieces, or takes longer than [`ServeConfig::body_timeout`] in all, is refused with 408,
//!   and its share of the budget is given back.

use super::api::{ApiError, Shared, BODY_BUDGET_KIB};
#[cfg(doc)]
use super::ServeConfig;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;
use std::time::Duration;
use tokio::time::Instant;

/// The body, if it is at most `max` bytes and arrives within the timeouts (invariants A–C);
/// `what` names it in errors ("arguments", "install requests").
pub(crate) async fn read_capped(
    shared: &Shared,
    headers: &HeaderMap,
    mut body: Body,
    max: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    let too_large = |size: String| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{what} are {size} bytes, over the cap of {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(len) = declared.filter(|&len| len > max as u64) {
        return Err(too_large(len.to_string()));
    }
    let (idle, total) = shared.body_timeouts;
    let end = Instant::now() + total;
    let mut bytes = Vec::new();
    let mut held: Option<tokio::sync::SemaphorePermit<'_>> = None;
    loop {
        let pause_end = Instant::now() + idle;
        let frame = match tokio::time::timeout_at(pause_end.min(end), body.frame()).await {
            Ok(None) => return Ok(bytes),
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => return Err(ApiError::bad(format!("reading the {what}: {e}"))),
            Err(_) if pause_end < end => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the {what} paused for more than {} between two pieces",
                        seconds(idle)
                    ),
                ))
            }
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("the {what} did not arrive within {}", seconds(total)),
                ))
            }
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers: nothing to keep
        };
        let len = bytes.len() + data.len();
        if len > max {
            return Err(too_large(format!("more than {max}")));
        }
        // Invariant B: the share grows with what has arrived.
        let kib = u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX);
        let has = held.as_ref().map_or(0, |p| p.num_permits() as u32);
        if kib > has {
            let Ok(more) = shared.body_budget.try_acquire_many(kib - has) else {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the server is reading {BODY_BUDGET_KIB} KiB of request bodies already; retry later"),
                ));
            };
            match &mut held {
                Some(permit) => permit.merge(more),
                None => held = Some(more),
            }
        }
        bytes.extend_from_slice(&data);
    }
}

/// `10 s`, `0.2 s`.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
