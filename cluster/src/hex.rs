//! Lower-case hex, for tickets and signatures.

pub(crate) fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The bytes of `text`, or `None` unless it is an even number of hex digits.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    // `from_str_radix` alone would take a sign (`+1`).
    if !text.len().is_multiple_of(2) || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// 128 random bits in hex: a reservation ticket.
pub(crate) fn random_ticket() -> String {
    let mut bytes = [0u8; 16];
    // Without an OS random source tickets would be guessable: refuse to go on.
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    encode(&bytes)
}

#[cfg(test)]
mod tests;
