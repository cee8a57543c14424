//! Binary encoding of protocol messages. The only module that names bincode.
//!
//! Every decode is bounded: bincode's limit rejects a forged length prefix before allocating,
//! and a message must be consumed exactly (trailing bytes are an error). Field-level checks
//! (finite floats, ranges, text) live in [`crate::validate`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{ClientMsg, MAX_CLIENT_MSG_BYTES, MAX_SERVER_MSG_BYTES, ServerMsg};

/// Why bytes did not decode into a message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
}

fn config<const LIMIT: usize>() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<LIMIT>()
}

fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // Encoding into a Vec cannot fail for these types: every field is plainly serialisable.
    bincode::serde::encode_to_vec(message, bincode::config::standard())
        .expect("protocol messages always encode")
}

fn decode<T: DeserializeOwned, const LIMIT: usize>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > LIMIT {
        return Err(DecodeError::TooLarge { len: bytes.len(), limit: LIMIT });
    }
    let (message, used) = bincode::serde::decode_from_slice(bytes, config::<LIMIT>())
        .map_err(|err| DecodeError::Malformed(err.to_string()))?;
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes(bytes.len() - used));
    }
    Ok(message)
}

pub fn encode_client(message: &ClientMsg) -> Vec<u8> {
    encode(message)
}

pub fn encode_server(message: &ServerMsg) -> Vec<u8> {
    encode(message)
}

/// Decodes a client message, bounded by [`MAX_CLIENT_MSG_BYTES`].
pub fn decode_client(bytes: &[u8]) -> Result<ClientMsg, DecodeError> {
    decode::<ClientMsg, MAX_CLIENT_MSG_BYTES>(bytes)
}

/// Decodes a server message, bounded by [`MAX_SERVER_MSG_BYTES`].
pub fn decode_server(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
    decode::<ServerMsg, MAX_SERVER_MSG_BYTES>(bytes)
}

#[cfg(test)]
mod tests;
