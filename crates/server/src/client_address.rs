//! The client's address: the connection's peer, or — when the peer is a
//! configured reverse proxy — the last address in `X-Forwarded-For` that is not
//! itself a listed proxy (entries to its left are whatever the client wrote).

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Most `X-Forwarded-For` entries read (from the right).
const MAX_HOPS: usize = 16;

/// The address a request comes from, given the proxies to believe.
pub fn of(parts: &Parts, trusted: &[IpAddr]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    behind(peer, &parts.headers, trusted)
}

fn behind(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev().take(MAX_HOPS) {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // Something unreadable where an address should be: stop believing.
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let other: IpAddr = "10.0.0.9".parse().unwrap();
        let trusted = [proxy, "10.0.0.3".parse().unwrap()];
        let h = headers(&["1.2.3.4, 203.0.113.7"]);
        assert_eq!(
            behind(proxy, &h, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(behind(other, &h, &trusted), other, "not a listed proxy");
        let chained = headers(&["198.51.100.1", "203.0.113.7, 10.0.0.3"]);
        assert_eq!(
            behind(proxy, &chained, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(behind(proxy, &headers(&["nonsense"]), &trusted), proxy);
        assert_eq!(behind(proxy, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(
            behind(proxy, &headers(&["2001:db8::1"]), &trusted),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }
}
