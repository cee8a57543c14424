//! `PlayerKey`: a player's lasting identity, independent of names and of any login.

use std::fmt;
use std::str::FromStr;

/// A player's lasting identity: 16 random bytes, shown as 32 lowercase hex chars.
///
/// The database stores it as that hex text, so rows read the same in `sqlite3` and `psql`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct PlayerKey(pub [u8; 16]);

/// Why a string is not a [`PlayerKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseKeyError {
    #[error("a player key is 32 hex characters, got {0}")]
    Length(usize),
    #[error("a player key is hex, found {0:?}")]
    NotHex(char),
}

impl PlayerKey {
    /// A fresh key from the operating system's random source.
    ///
    /// # Panics
    /// If the OS random source fails, which `getrandom` documents as not happening on
    /// supported platforms once they are booted.
    pub fn random() -> PlayerKey {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random source failed");
        PlayerKey(bytes)
    }

    /// The 32-char lowercase hex form, as stored in the database.
    pub fn to_hex(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for PlayerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for PlayerKey {
    type Err = ParseKeyError;

    /// Exactly 32 hex digits; upper case is accepted, nothing else (no prefix, no spaces).
    fn from_str(text: &str) -> Result<PlayerKey, ParseKeyError> {
        if let Some(bad) = text.chars().find(|digit| !digit.is_ascii_hexdigit()) {
            return Err(ParseKeyError::NotHex(bad));
        }
        // Only ASCII is left, so bytes and chars count the same.
        if text.len() != 32 {
            return Err(ParseKeyError::Length(text.len()));
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            *byte = hex_value(pair[0]) << 4 | hex_value(pair[1]);
        }
        Ok(PlayerKey(bytes))
    }
}

/// The value of one ASCII hex digit (already checked).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests;
