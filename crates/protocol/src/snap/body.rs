//! The body hash SNAP signs: `lowercase(hex(SHA-256(minify(body))))`, where minify
//! drops the whitespace outside JSON string literals and nothing else (keys keep
//! their order, strings and numbers their spelling). Real clients do not send the
//! bytes they sign (a pretty-printed body signed minified, `", "` separators, `\/`
//! unescaped before signing), so a receiver hashes what it got in the forms a
//! sender may have signed ([`candidates`]), never by re-serialising it.

use sha2::{Digest, Sha256};

/// `body` without the space, tab, carriage return and line feed bytes that stand
/// outside string literals. A byte-level pass: anything else, valid JSON or not,
/// is kept as it is.
pub fn minify(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in body {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            out.push(b);
            in_string = b == b'"';
        }
    }
    out
}

/// `body` with every `\/` written `/`, as PHP-minded clients sign it.
fn unescaped_slashes(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' && body.get(i + 1) == Some(&b'/') {
            out.push(b'/');
            i += 2;
        } else {
            out.push(body[i]);
            // An escaped backslash is two bytes: the second never starts `\/`.
            if body[i] == b'\\' && i + 1 < body.len() {
                out.push(body[i + 1]);
                i += 2;
            } else {
                i += 1;
            }
        }
    }
    out
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The byte forms a sender may have signed for the `body` received, most likely
/// first: the minified body, the minified body with `\/` unescaped, the bytes as
/// received. A form equal to one before it is left out.
pub fn forms(body: &[u8]) -> Vec<std::borrow::Cow<'_, [u8]>> {
    use std::borrow::Cow;
    let minified = minify(body);
    let unescaped = minified
        .windows(2)
        .any(|w| w == b"\\/")
        .then(|| unescaped_slashes(&minified));
    let mut forms: Vec<Cow<'_, [u8]>> = vec![Cow::Owned(minified)];
    if let Some(unescaped) = unescaped {
        if !forms.iter().any(|f| **f == *unescaped) {
            forms.push(Cow::Owned(unescaped));
        }
    }
    if !forms.iter().any(|f| **f == *body) {
        forms.push(Cow::Borrowed(body));
    }
    forms
}

/// The hashes of [`forms`], in the same order.
pub fn candidates(body: &[u8]) -> Vec<String> {
    forms(body).iter().map(|f| hash(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's vector (§4.1): a pretty-printed body and its minified hash.
    #[test]
    fn the_pretty_body_hashes_as_its_minified_form() {
        let pretty = "{\n  \"partnerReferenceNo\": \"2020102900000000000001\",\n  \"amount\": {\n    \"value\": \"10000.00\",\n    \"currency\": \"IDR\"\n  },\n  \"beneficiaryAccountName\": \"JOHN DOE\"\n}";
        let minified = minify(pretty.as_bytes());
        assert_eq!(
            String::from_utf8(minified.clone()).unwrap(),
            r#"{"partnerReferenceNo":"2020102900000000000001","amount":{"value":"10000.00","currency":"IDR"},"beneficiaryAccountName":"JOHN DOE"}"#
        );
        assert_eq!(
            hash(&minified),
            "cfac7985aa7eda03285e0546e79a4f09839649da433d2b34f66defbaffe5952b"
        );
        assert_eq!(candidates(pretty.as_bytes())[0], hash(&minified));
    }

    #[test]
    fn strings_keep_their_spaces_and_escapes() {
        let body = br#"{ "a" : "x y\" z \\" , "b": "http:\/\/h" }"#;
        assert_eq!(
            minify(body),
            br#"{"a":"x y\" z \\","b":"http:\/\/h"}"#.to_vec()
        );
        assert_eq!(
            unescaped_slashes(&minify(body)),
            br#"{"a":"x y\" z \\","b":"http://h"}"#.to_vec()
        );
        // A backslash escaped before a slash is not a `\/`.
        assert_eq!(unescaped_slashes(br#""\\/""#), br#""\\/""#.to_vec());
    }

    #[test]
    fn an_empty_body_hashes_as_nothing() {
        assert_eq!(
            candidates(b""),
            vec!["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use serde_json::Value;

        /// JSON values with the strings clients send: spaces, quotes, backslashes,
        /// slashes, non-ASCII.
        fn json() -> impl Strategy<Value = Value> {
            fn text() -> BoxedStrategy<String> {
                proptest::string::string_regex(r#"[a-zA-Z0-9 /\\"\t:,{}é漢-]{0,12}"#)
                    .unwrap()
                    .boxed()
            }
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                text().prop_map(Value::from),
            ];
            leaf.prop_recursive(4, 48, 6, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec((text(), inner), 0..6)
                        .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
                ]
            })
        }

        /// `v` written with whitespace from `gaps` between every two tokens (as a
        /// sender's serialiser may place it), strings and numbers as serde writes them.
        fn spaced(v: &Value, gaps: &mut impl Iterator<Item = &'static str>, out: &mut String) {
            fn gap_from(gaps: &mut impl Iterator<Item = &'static str>, out: &mut String) {
                out.push_str(gaps.next().unwrap_or(""));
            }
            macro_rules! gap {
                ($out:expr) => {
                    gap_from(gaps, $out)
                };
            }
            match v {
                Value::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            gap!(out);
                            out.push(',');
                        }
                        gap!(out);
                        spaced(item, gaps, out);
                    }
                    gap!(out);
                    out.push(']');
                }
                Value::Object(members) => {
                    out.push('{');
                    for (i, (key, value)) in members.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        gap!(out);
                        out.push_str(&serde_json::to_string(key).unwrap());
                        gap!(out);
                        out.push(':');
                        gap!(out);
                        spaced(value, gaps, out);
                    }
                    gap!(out);
                    out.push('}');
                }
                leaf => out.push_str(&serde_json::to_string(leaf).unwrap()),
            }
        }

        proptest! {
            /// Every way of laying out the same value — compact, pretty-printed,
            /// Python's `", "` and `": "`, any whitespace between tokens — minifies
            /// to the same bytes, so hashes the same.
            #[test]
            fn every_layout_of_a_value_hashes_the_same(
                v in json(),
                picks in prop::collection::vec(0usize..5, 0..64),
            ) {
                let compact = serde_json::to_string(&v).unwrap();
                let expected = hash(compact.as_bytes());
                let pretty = serde_json::to_string_pretty(&v).unwrap();
                let python = {
                    let mut out = String::new();
                    let mut seps = std::iter::repeat(" ");
                    spaced(&v, &mut seps, &mut out);
                    out
                };
                let random = {
                    const GAPS: [&str; 5] = ["", " ", "\t", "\n", "\r\n  "];
                    let mut out = String::new();
                    let mut gaps = picks.iter().map(|i| GAPS[*i]).cycle();
                    spaced(&v, &mut gaps, &mut out);
                    out
                };
                for layout in [&compact, &pretty, &python, &random] {
                    prop_assert_eq!(&minify(layout.as_bytes()), &compact.as_bytes().to_vec());
                    prop_assert_eq!(&candidates(layout.as_bytes())[0], &expected);
                }
            }
        }
    }
}
