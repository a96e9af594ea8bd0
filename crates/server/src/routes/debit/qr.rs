//! A QRIS bill's code as an image: PNG for the `web_url` Post Data answers (as
//! Faspay's is), SVG inline in the hosted checkout.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gerbang_app::payin;
use gerbang_app::principals::Merchant;
use gerbang_app::App;
use gerbang_core::payin::{find_channel, Bill, ChannelFamily, Opening};
use gerbang_protocol::debit::signature;
use serde::Deserialize;
use std::sync::Arc;

/// The QRIS payload the acquirer gave a QR channel's bill; for a bill stored
/// before channels opened bills, the payload it was shown then.
pub(super) fn content(bill: &Bill, merchant: &Merchant) -> Option<String> {
    match &bill.opening {
        Some(Opening::Qr { content }) => Some(content.clone()),
        Some(_) => None,
        None => (find_channel(&bill.channel)?.family == ChannelFamily::Qris).then(|| {
            gerbang_channels::qris::Payload {
                merchant_id: &merchant.merchant_id,
                merchant_name: &merchant.name,
                bill_id: &bill.id,
                amount_rupiah: bill.amount_minor / 100,
            }
            .encode()
        }),
    }
}

/// Pixels per module of the PNG, and modules of quiet zone around the code.
const PNG_SCALE: usize = 8;
const QUIET_MODULES: usize = 4;

enum Format {
    Png,
    Svg,
}

/// The code as an SVG of at least 240 × 240.
pub(super) fn svg(content: &str) -> Option<String> {
    let code = qrcode::QrCode::new(content.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .build(),
    )
}

/// The code as a greyscale PNG, 8 pixels a module, with its quiet zone.
pub(super) fn png(content: &str) -> Option<Vec<u8>> {
    let code = qrcode::QrCode::new(content.as_bytes()).ok()?;
    let modules = code.width();
    let dark = code.to_colors();
    let side = (modules + 2 * QUIET_MODULES) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, colour) in dark.iter().enumerate() {
        if *colour != qrcode::Color::Dark {
            continue;
        }
        let (x, y) = (i % modules + QUIET_MODULES, i / modules + QUIET_MODULES);
        for row in y * PNG_SCALE..(y + 1) * PNG_SCALE {
            let start = row * side + x * PNG_SCALE;
            pixels[start..start + PNG_SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).ok()?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(&pixels).ok()?;
    writer.finish().ok()?;
    Some(out)
}

/// `GET /__assets/qr/{merchant_id}-{trx_id}.png?s=…` (or `.svg`): a QR channel
/// bill's code as an image, for the link Post Data answered with.
#[derive(Deserialize)]
pub(super) struct QrLink {
    /// `sha1(md5(user_id + password + trx_id))`.
    s: Option<String>,
}

pub(super) async fn image(
    State(app): State<Arc<App>>,
    Path(file): Path<String>,
    Query(link): Query<QrLink>,
) -> Response {
    let found = async {
        let (stem, format) = match file.strip_suffix(".png") {
            Some(stem) => (stem, Format::Png),
            None => (file.strip_suffix(".svg")?, Format::Svg),
        };
        let (merchant_id, trx_id) = stem.split_once('-')?;
        let (bill, _) = payin::load(&app.store, trx_id).await.ok()??;
        if bill.requester.principal != merchant_id
            || find_channel(&bill.channel)?.family != ChannelFamily::Qris
        {
            return None;
        }
        let merchant = app
            .partners
            .merchant(&*app.store, merchant_id)
            .await
            .ok()??;
        if !signature::verify(
            link.s.as_deref()?,
            &merchant.user_id,
            merchant.password.expose(),
            &[&bill.id],
        ) {
            return None;
        }
        let content = content(&bill, &merchant)?;
        match format {
            Format::Png => png(&content).map(|b| ("image/png", b)),
            Format::Svg => svg(&content).map(|t| ("image/svg+xml", t.into_bytes())),
        }
    }
    .await;
    match found {
        Some((content_type, bytes)) => {
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such QR code").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_is_a_png_of_the_code() {
        let bytes = png("00020101021226").unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        // Version 1 (21 modules) with 4 quiet modules each side, 8 pixels each.
        assert_eq!((info.width, info.height), (29 * 8, 29 * 8));
    }
}
