//! SendMe request paths: the SDKs write the fixed part in any case and append
//! values to it, percent-encoded.

/// Lower-cases the fixed part of SendMe paths (`/account/API/transfer` is
/// documented), leaving appended values as they are. Works on segments, so any
/// path, whatever characters it holds, is either rewritten or left alone.
pub fn normalise_path(path: &str) -> Option<String> {
    let mut parts = path.splitn(4, '/');
    let (Some(""), Some(account), Some(api), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if !account.eq_ignore_ascii_case("account") || !api.eq_ignore_ascii_case("api") {
        return None;
    }
    let (service, values) = match rest.split_once('/') {
        Some((service, values)) => (service, Some(values)),
        None => (rest, None),
    };
    let service = service.to_ascii_lowercase();
    let mut normalised = format!("/account/api/{service}");
    if let Some(values) = values {
        // `register/confirm`: the second word is part of the service.
        let (first, more) = match values.split_once('/') {
            Some((first, more)) => (first, Some(more)),
            None => (values, None),
        };
        normalised.push('/');
        if service == "register" && first.eq_ignore_ascii_case("confirm") {
            normalised.push_str("confirm");
        } else {
            normalised.push_str(first);
        }
        if let Some(more) = more {
            normalised.push('/');
            normalised.push_str(more);
        }
    }
    (normalised != path).then_some(normalised)
}

/// A path segment with its `%XX` escapes decoded; malformed escapes stay as
/// they are and bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(segment: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(segment.len());
    let mut bytes = segment.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let mut ahead = bytes.clone();
            if let (Some(hi), Some(lo)) = (ahead.next().and_then(hex), ahead.next().and_then(hex)) {
                out.push(hi << 4 | lo);
                bytes = ahead;
                continue;
            }
        }
        out.push(b);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_parts_are_lower_cased_and_values_kept() {
        assert_eq!(
            normalise_path("/account/API/transfer").as_deref(),
            Some("/account/api/transfer")
        );
        assert_eq!(
            normalise_path("/Account/Api/Inquiry_Status/9920015307/TrxNo").as_deref(),
            Some("/account/api/inquiry_status/9920015307/TrxNo")
        );
        assert_eq!(
            normalise_path("/account/api/REGISTER/Confirm").as_deref(),
            Some("/account/api/register/confirm")
        );
        assert_eq!(normalise_path("/account/api/transfer"), None);
        assert_eq!(normalise_path("/sandbox/topup"), None);
    }

    #[test]
    fn any_path_is_safe() {
        assert_eq!(
            normalise_path("/account/apié/x"),
            None,
            "not the SendMe prefix"
        );
        assert_eq!(
            normalise_path("/Account/api/TRANSFER/é/ü").as_deref(),
            Some("/account/api/transfer/é/ü")
        );
        assert_eq!(normalise_path("/accounté"), None);
        assert_eq!(normalise_path(""), None);
        assert_eq!(percent_decode("a%2Fb%zz%e"), "a/b%zz%e");
        assert_eq!(percent_decode("%C3%A9é%"), "éé%");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }
}
