//! The QRIS payload a QR channel's bill shows (`qr_content`): EMVCo merchant-
//! presented QR data objects — tag, two-digit length, value — ending with the
//! CRC-16/CCITT-FALSE of everything before it, as every QRIS wallet checks.

use crc::{Crc, CRC_16_IBM_3740};

const CRC: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

fn object(tag: &str, value: &str) -> String {
    format!("{tag}{:02}{value}", value.len())
}

/// What a dynamic QRIS code carries for one bill.
pub struct Payload<'a> {
    /// The acquirer's merchant id (the gateway's merchant id).
    pub merchant_id: &'a str,
    /// The merchant's name (at most 25 characters are kept).
    pub merchant_name: &'a str,
    /// The bill's id (its terminal reference).
    pub bill_id: &'a str,
    /// Whole rupiah, as QRIS writes amounts.
    pub amount_rupiah: i64,
}

impl Payload<'_> {
    pub fn encode(&self) -> String {
        let name: String = self
            .merchant_name
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .take(25)
            .collect();
        let account = object("00", "ID.CO.GERBANG.WWW") + &object("01", self.merchant_id);
        let additional = object("05", &self.bill_id.chars().take(25).collect::<String>());
        let mut text = object("00", "01")
            + &object("01", "12")
            + &object("26", &account)
            + &object("52", "5999")
            + &object("53", "360")
            + &object("54", &self.amount_rupiah.to_string())
            + &object("58", "ID")
            + &object("59", if name.is_empty() { "MERCHANT" } else { &name })
            + &object("60", "JAKARTA")
            + &object("62", &additional)
            + "6304";
        let crc = CRC.checksum(text.as_bytes());
        text.push_str(&format!("{crc:04X}"));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_ccitt_false() {
        // The check value of CRC-16/CCITT-FALSE.
        assert_eq!(CRC.checksum(b"123456789"), 0x29B1);
        let p = Payload {
            merchant_id: "99999",
            merchant_name: "FASPAY STORE",
            bill_id: "9999971100000001",
            amount_rupiah: 15_000,
        }
        .encode();
        assert!(p.starts_with("000201010212"));
        assert!(p.contains("540515000"));
        assert!(p.contains("5912FASPAY STORE"));
        let (body, crc) = p.split_at(p.len() - 4);
        assert_eq!(format!("{:04X}", CRC.checksum(body.as_bytes())), crc);
    }
}
