//! Who a Debit request comes from: the merchant it names, once its signature
//! checks out; and the answer to a failure of the gateway itself.

use gerbang_app::principals::Merchant;
use gerbang_app::App;
use gerbang_protocol::debit::answer::DebitError;
use gerbang_protocol::debit::signature;

/// The merchant a request names, once its signature over `parts` checks out.
pub(super) async fn signed_merchant(
    app: &App,
    merchant_id: &str,
    given: &str,
    parts: &[&str],
) -> Result<std::sync::Arc<Merchant>, DebitError> {
    let merchant = app
        .partners
        .merchant(&*app.store, merchant_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            DebitError::INVALID_MERCHANT.with_detail(format!("merchant_id {merchant_id}"))
        })?;
    if !signature::verify(given, &merchant.user_id, merchant.password.expose(), parts) {
        return Err(DebitError::BAD_SIGNATURE);
    }
    Ok(merchant)
}

pub(super) fn internal(e: impl std::fmt::Display) -> DebitError {
    tracing::error!(error = %e, "Debit internal error");
    DebitError::INTERNAL
}
