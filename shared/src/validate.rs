//! Checks and clamps applied to every client message before it reaches a room.
//!
//! The codec guarantees a message is well-formed bincode within the size limit; this module
//! guarantees its fields are sane: finite floats, bounded counts, increasing sequence numbers,
//! and text without control or bidirectional-override characters.

use crate::protocol::{
    ClientMsg, InputMsg, MAX_CHAT_CHARS, MAX_INPUTS_PER_MSG, MAX_NAME_CHARS, MAX_ROOM_CHARS,
    buttons,
};

/// A rule a client message broke. Each closes the connection with [`Violation::close_code`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Violation {
    #[error("name must be 1 to {MAX_NAME_CHARS} visible characters")]
    BadName,
    #[error("room name must be at most {MAX_ROOM_CHARS} letters, digits, '-' or '_'")]
    BadRoom,
    #[error(
        "room title must be 1 to {MAX_ROOM_TITLE_CHARS} letters, digits, spaces or - _ ' . ! #"
    )]
    BadRoomTitle,
    #[error("\"{0}\" is reserved: pick another name")]
    Reserved(String),
    #[error("seat ticket must be 32 hexadecimal digits")]
    BadTicket,
    #[error("chat line is empty")]
    EmptyChat,
    #[error("input message must carry 1 to {MAX_INPUTS_PER_MSG} commands")]
    BadInputCount,
    #[error("input sequence numbers must increase")]
    InputSeqOrder,
    #[error("timestamp is not a finite number")]
    NonFinite,
}

impl Violation {
    pub fn close_code(&self) -> u16 {
        crate::protocol::close::POLICY
    }
}

/// Longest room title a player can give a room in the lobby.
pub const MAX_ROOM_TITLE_CHARS: usize = 24;

/// Names nobody may take, compared without case, spaces or punctuation: they would pass for
/// the server or its staff in chat, the scoreboard and the lobby.
const RESERVED: &[&str] =
    &["admin", "administrator", "server", "system", "moderator", "mod", "skirmish", "staff"];

fn is_reserved(name: &str) -> bool {
    let folded: String =
        name.chars().filter(|ch| ch.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    RESERVED.contains(&folded.as_str())
}

/// Characters removed from names and chat: control characters and the invisible formatting
/// characters that reorder or hide text (bidi overrides, isolates, zero-width joiners).
fn is_forbidden(ch: char) -> bool {
    ch.is_control()
        || matches!(ch,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Removes forbidden characters, turns whitespace runs into single spaces and trims.
fn clean_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(4 * MAX_CHAT_CHARS));
    let mut pending_space = false;
    for ch in raw.chars().filter(|ch| !is_forbidden(*ch) || *ch == '\t' || *ch == '\n') {
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(ch);
    }
    out
}

/// A display name: cleaned, 1..=[`MAX_NAME_CHARS`] characters.
pub fn sanitize_name(raw: &str) -> Result<String, Violation> {
    let name = clean_text(raw);
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Violation::BadName);
    }
    if is_reserved(&name) {
        return Err(Violation::Reserved(name));
    }
    Ok(name)
}

/// A room's title in the lobby: cleaned, 1..=[`MAX_ROOM_TITLE_CHARS`] characters of letters,
/// digits, spaces and `- _ ' . ! #`, not a reserved word.
pub fn sanitize_room_title(raw: &str) -> Result<String, Violation> {
    let title = clean_text(raw);
    let chars = title.chars().count();
    let charset = title
        .chars()
        .all(|ch| ch.is_alphanumeric() || matches!(ch, ' ' | '-' | '_' | '\'' | '.' | '!' | '#'));
    if chars == 0 || chars > MAX_ROOM_TITLE_CHARS || !charset {
        return Err(Violation::BadRoomTitle);
    }
    if is_reserved(&title) {
        return Err(Violation::Reserved(title));
    }
    Ok(title)
}

/// A room name: empty (the default room) or ASCII letters, digits, `-` and `_`.
pub fn check_room(room: &str) -> Result<(), Violation> {
    let ok = room.len() <= MAX_ROOM_CHARS
        && room.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if ok { Ok(()) } else { Err(Violation::BadRoom) }
}

/// A seat ticket from the lobby: 32 lowercase hexadecimal digits.
pub fn check_ticket(ticket: &str) -> Result<(), Violation> {
    let ok = ticket.len() == 32 && ticket.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok { Ok(()) } else { Err(Violation::BadTicket) }
}

/// A chat line: cleaned and cut to [`MAX_CHAT_CHARS`] characters; empty lines are refused.
pub fn sanitize_chat(raw: &str) -> Result<String, Violation> {
    let mut text = clean_text(raw);
    if let Some((cut, _)) = text.char_indices().nth(MAX_CHAT_CHARS) {
        text.truncate(cut);
        text.truncate(text.trim_end().len());
    }
    if text.is_empty() {
        return Err(Violation::EmptyChat);
    }
    Ok(text)
}

/// Checks counts and ordering and clears undefined button bits.
pub fn check_input(mut input: InputMsg) -> Result<InputMsg, Violation> {
    if input.inputs.is_empty() || input.inputs.len() > MAX_INPUTS_PER_MSG {
        return Err(Violation::BadInputCount);
    }
    if input.inputs.windows(2).any(|pair| pair[1].seq <= pair[0].seq) {
        return Err(Violation::InputSeqOrder);
    }
    for cmd in &mut input.inputs {
        cmd.buttons &= buttons::ALL;
    }
    Ok(input)
}

/// Validates any message after the handshake. `Hello` is checked by the handshake itself.
pub fn check_client_msg(message: ClientMsg) -> Result<ClientMsg, Violation> {
    Ok(match message {
        ClientMsg::Input(input) => ClientMsg::Input(check_input(input)?),
        ClientMsg::Chat { text } => ClientMsg::Chat { text: sanitize_chat(&text)? },
        ClientMsg::Ping { client_time } if !client_time.is_finite() => {
            return Err(Violation::NonFinite);
        }
        other => other,
    })
}

#[cfg(test)]
mod tests;
