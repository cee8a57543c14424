//! The lobby screen (wasm): the server's public rooms (polled from `/api/rooms` every two
//! seconds while it shows), quick play, creating a room, joining by code or from a `/r/CODE`
//! link, the leaderboard (all time or the last 7 days) and the finished matches' replays
//! (`/api/replays`, each a link to `/replay/ID`). Requests run in the background and
//! leave their answers in a queue the frame loop drains ([`Lobby::take_events`]); a granted seat
//! becomes an `app::Target` for `App::join`.
//!
//! Polling rather than a feed: the answer is about 150 bytes per room and one request every two
//! seconds per open lobby, which is less than a WebSocket's pings, and a page in a room stops
//! asking.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, HtmlSelectElement, Window};

use crate::app::Target;
use crate::ui::{append, by_id};

/// How often the room list and the leaderboard refresh while the lobby shows.
const ROOMS_EVERY_MS: f64 = 2000.0;
const BOARD_EVERY_MS: f64 = 5000.0;
const REPLAYS_EVERY_MS: f64 = 10_000.0;
/// Replays listed (the newest).
const REPLAYS_SHOWN: usize = 8;

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct RoomInfo {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) map: String,
    pub(crate) mode: String,
    pub(crate) players: usize,
    /// Watching without a seat (absent from a cluster's listing).
    #[serde(default)]
    pub(crate) spectators: usize,
    pub(crate) capacity: usize,
    pub(crate) public: bool,
    /// In a cluster: the page of the room's own process that watches it (`/r/ID?spectate`).
    #[serde(default)]
    pub(crate) watch: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Rooms {
    rooms: Vec<RoomInfo>,
    maps: Vec<String>,
    max_capacity: usize,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BoardEntry {
    rank: u32,
    name: String,
    kills: u64,
    deaths: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Board {
    period: String,
    entries: Vec<BoardEntry>,
}

/// A finished match's replay (`GET /api/replays`).
#[derive(Debug, Deserialize)]
pub(crate) struct ReplayInfo {
    id: String,
    title: String,
    map: String,
    /// Unix seconds when the match began.
    started_at: f64,
    bytes: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Replays {
    replays: Vec<ReplayInfo>,
}

/// This player's career (`GET /api/me`).
#[derive(Debug, Deserialize)]
pub(crate) struct Career {
    kills: u64,
    deaths: u64,
    matches: u64,
    best_streak: u32,
    seconds_played: u64,
}

impl Career {
    /// One line for the lobby.
    pub(crate) fn line(&self) -> String {
        format!(
            "Your career: {} kills / {} deaths · {} matches · best streak {} · {} min played",
            self.kills,
            self.deaths,
            self.matches,
            self.best_streak,
            self.seconds_played / 60
        )
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Seat {
    room: RoomInfo,
    /// `None` for a room another process opens when the socket arrives.
    ticket: Option<String>,
    link: String,
    /// The game socket on another process of the cluster, with its join ticket.
    #[serde(default)]
    ws_url: Option<String>,
}

impl Seat {
    pub(crate) fn target(self) -> Target {
        Target {
            invite: (!self.room.public).then_some(self.link),
            room: self.room.id,
            ticket: self.ticket,
            title: self.room.title,
            map: self.room.map,
            server: self.ws_url,
            via_lobby: true,
            spectate: false,
        }
    }
}

/// What a background request brought back.
pub(crate) enum LobbyEvent {
    Rooms(Rooms),
    Board(Board),
    Career(Career),
    Replays(Replays),
    /// The name this player last played under (from `POST /api/session`).
    RememberedName(String),
    Seat(Seat),
    /// No seat: why, and whether asking again later may help (the server could not be reached
    /// or answered 5xx) or not (a refusal: no such room, full, bad name).
    Refused {
        message: String,
        transient: bool,
    },
}

/// Which seat to ask for.
pub(crate) enum SeatRequest {
    QuickPlay,
    Code(String),
    Create { title: String, map: String, capacity: usize, public: bool, spectators_chat: bool },
}

pub(crate) struct Lobby {
    document: Document,
    room_list: HtmlElement,
    replay_list: HtmlElement,
    board: HtmlElement,
    pub(crate) code_input: HtmlInputElement,
    pub(crate) room_title: HtmlInputElement,
    pub(crate) room_map: HtmlSelectElement,
    pub(crate) room_capacity: HtmlInputElement,
    pub(crate) room_public: HtmlInputElement,
    pub(crate) room_spectator_chat: HtmlInputElement,
    board_tabs: [HtmlElement; 2],
    notice: HtmlElement,
    career: HtmlElement,
    events: Rc<RefCell<VecDeque<LobbyEvent>>>,
    rooms_asked_ms: f64,
    board_asked_ms: f64,
    replays_asked_ms: f64,
    /// `all` or `week`.
    period: &'static str,
    maps_filled: bool,
    /// A seat request is on its way: further clicks wait.
    pub(crate) asking: Rc<std::cell::Cell<bool>>,
}

/// `method url` with an optional JSON body, cookies included: (status, body text).
async fn call(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    if let Some(body) = body {
        let headers = web_sys::Headers::new().map_err(|_| "headers")?;
        headers.set("content-type", "application/json").map_err(|_| "headers")?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
    let fetched = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| "cannot reach the server".to_string())?;
    let response: web_sys::Response = fetched.dyn_into().map_err(|_| "not a response")?;
    let text = response.text().map_err(|_| "no body")?;
    let text = wasm_bindgen_futures::JsFuture::from(text).await.map_err(|_| "no body")?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}

/// The `error` of a refusal's JSON body, or the status.
fn refusal(status: u16, body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("the server answered {status}"))
}

impl Lobby {
    pub(crate) fn new(document: &Document) -> Result<Lobby, JsValue> {
        Ok(Lobby {
            room_list: by_id(document, "room-list")?,
            replay_list: by_id(document, "replay-list")?,
            board: by_id(document, "leaderboard")?,
            code_input: by_id(document, "code-input")?,
            room_title: by_id(document, "room-title")?,
            room_map: by_id(document, "room-map")?,
            room_capacity: by_id(document, "room-capacity")?,
            room_public: by_id(document, "room-public")?,
            room_spectator_chat: by_id(document, "room-spectator-chat")?,
            board_tabs: [by_id(document, "board-all")?, by_id(document, "board-week")?],
            notice: by_id(document, "lobby-notice")?,
            career: by_id(document, "career")?,
            document: document.clone(),
            events: Rc::new(RefCell::new(VecDeque::new())),
            rooms_asked_ms: f64::NEG_INFINITY,
            board_asked_ms: f64::NEG_INFINITY,
            replays_asked_ms: f64::NEG_INFINITY,
            period: "all",
            maps_filled: false,
            asking: Rc::new(std::cell::Cell::new(false)),
        })
    }

    /// Refreshes what is due while the lobby shows.
    pub(crate) fn poll(&mut self, now_ms: f64) {
        if now_ms - self.rooms_asked_ms >= ROOMS_EVERY_MS {
            self.rooms_asked_ms = now_ms;
            let events = self.events.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok((200, body)) = call("GET", "/api/rooms", None).await
                    && let Ok(rooms) = serde_json::from_str(&body)
                {
                    events.borrow_mut().push_back(LobbyEvent::Rooms(rooms));
                }
            });
        }
        if now_ms - self.replays_asked_ms >= REPLAYS_EVERY_MS {
            self.replays_asked_ms = now_ms;
            let events = self.events.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok((200, body)) = call("GET", "/api/replays", None).await
                    && let Ok(replays) = serde_json::from_str(&body)
                {
                    events.borrow_mut().push_back(LobbyEvent::Replays(replays));
                }
            });
        }
        if now_ms - self.board_asked_ms >= BOARD_EVERY_MS {
            self.board_asked_ms = now_ms;
            let events = self.events.clone();
            let url = format!("/api/leaderboard?period={}", self.period);
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok((200, body)) = call("GET", &url, None).await
                    && let Ok(board) = serde_json::from_str(&body)
                {
                    events.borrow_mut().push_back(LobbyEvent::Board(board));
                }
                // A player who has not played yet has no career (and no row): nothing shows.
                if let Ok((200, body)) = call("GET", "/api/me", None).await
                    && let Ok(career) = serde_json::from_str(&body)
                {
                    events.borrow_mut().push_back(LobbyEvent::Career(career));
                }
            });
        }
    }

    /// Shows the other leaderboard period, fetched now.
    pub(crate) fn show_period(&mut self, period: &'static str) {
        self.period = period;
        self.board_asked_ms = f64::NEG_INFINITY;
        for (tab, name) in self.board_tabs.iter().zip(["all", "week"]) {
            tab.set_class_name(if name == period { "tab active" } else { "tab" });
        }
    }

    /// Asks the server for a session (the cookie the lobby's requests and the game socket
    /// carry), and reports the name this player last used.
    pub(crate) fn start_session(&self) {
        let events = self.events.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = call("POST", "/api/session", None).await;
            if let Ok((200, body)) = answer
                && let Ok(json) = serde_json::from_str::<serde_json::Value>(&body)
                && let Some(name) = json["name"].as_str()
            {
                events.borrow_mut().push_back(LobbyEvent::RememberedName(name.to_string()));
            }
        });
    }

    /// Asks for a seat in the background; the answer arrives as `Seat` or `Refused`.
    pub(crate) fn ask_seat(&self, request: SeatRequest) {
        if self.asking.replace(true) {
            return;
        }
        let (events, asking) = (self.events.clone(), self.asking.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let (path, body) = match request {
                SeatRequest::QuickPlay => ("/api/quick-play".to_string(), None),
                SeatRequest::Code(code) => (format!("/api/rooms/{code}/join"), None),
                SeatRequest::Create { title, map, capacity, public, spectators_chat } => {
                    let body = serde_json::json!({
                        "title": title, "map": map, "capacity": capacity, "public": public,
                        "spectators_chat": spectators_chat,
                    });
                    ("/api/rooms".to_string(), Some(body.to_string()))
                }
            };
            // A fresh session first: the lobby's requests need its cookie.
            let refused = |message: String, transient| LobbyEvent::Refused { message, transient };
            let answered = |status: u16, body: &str| refused(refusal(status, body), status >= 500);
            let event = match call("POST", "/api/session", None).await {
                Ok((200, _)) => match call("POST", &path, body).await {
                    Ok((200, body)) => match serde_json::from_str::<Seat>(&body) {
                        Ok(seat) => LobbyEvent::Seat(seat),
                        Err(err) => refused(format!("unexpected answer: {err}"), false),
                    },
                    Ok((404, _)) => refused("No room has that code (any more).".into(), false),
                    Ok((status, body)) => answered(status, &body),
                    Err(err) => refused(err, true),
                },
                Ok((status, body)) => answered(status, &body),
                Err(err) => refused(err, true),
            };
            events.borrow_mut().push_back(event);
            asking.set(false);
        });
    }

    pub(crate) fn take_events(&self) -> Vec<LobbyEvent> {
        self.events.borrow_mut().drain(..).collect()
    }

    pub(crate) fn show_career(&self, career: &Career) {
        self.career.set_text_content(Some(&career.line()));
        self.career.set_hidden(false);
    }

    pub(crate) fn show_notice(&self, text: Option<&str>) {
        self.notice.set_text_content(text);
        self.notice.set_hidden(text.is_none());
    }

    fn add(
        &self,
        parent: &Element,
        tag: &str,
        class: &str,
        text: &str,
    ) -> Result<Element, JsValue> {
        append(&self.document, parent, tag, class, text)
    }

    /// The room list (each with a Join button carrying its id) and, once, the map choices.
    pub(crate) fn render_rooms(&mut self, rooms: &Rooms) -> Result<(), JsValue> {
        self.room_list.set_text_content(None);
        if rooms.rooms.is_empty() {
            self.add(&self.room_list, "p", "empty", "No rooms yet: quick play opens one.")?;
        }
        for room in &rooms.rooms {
            let row = self.add(&self.room_list, "div", "room-row", "")?;
            self.add(&row, "span", "room-title", &room.title)?;
            self.add(&row, "span", "room-map", &format!("{} · {}", room.map, room.mode))?;
            let watching = match room.spectators {
                0 => String::new(),
                n => format!(" · {n} watching"),
            };
            let players = format!("{}/{}{watching}", room.players, room.capacity);
            self.add(&row, "span", "room-players", &players)?;
            let full = room.players >= room.capacity;
            let buttons = self.add(&row, "span", "room-buttons", "")?;
            let button =
                self.add(&buttons, "button", "room-join", if full { "Full" } else { "Join" })?;
            button.set_attribute("type", "button")?;
            button.set_attribute("data-room", &room.id)?;
            if full {
                button.set_attribute("disabled", "")?;
            }
            // Watching needs no seat: full rooms can be watched too.
            let watch = self.add(&buttons, "button", "room-watch secondary", "Watch")?;
            watch.set_attribute("type", "button")?;
            watch.set_attribute("data-watch", &room.id)?;
            watch.set_attribute("data-title", &room.title)?;
            watch.set_attribute("data-map", &room.map)?;
            if let Some(url) = &room.watch {
                watch.set_attribute("data-watch-url", url)?;
            }
        }
        if !self.maps_filled {
            self.maps_filled = true;
            for map in &rooms.maps {
                let option = self.add(self.room_map.as_ref(), "option", "", map)?;
                option.set_attribute("value", map)?;
            }
            self.room_capacity.set_max(&rooms.max_capacity.to_string());
            self.room_capacity.set_value(&rooms.max_capacity.min(8).to_string());
        }
        Ok(())
    }

    /// The newest replays, each a link to watch it.
    pub(crate) fn render_replays(&self, replays: &Replays) -> Result<(), JsValue> {
        self.replay_list.set_text_content(None);
        if replays.replays.is_empty() {
            self.add(&self.replay_list, "p", "empty", "No finished matches yet.")?;
        }
        for replay in replays.replays.iter().take(REPLAYS_SHOWN) {
            let row = self.add(&self.replay_list, "div", "room-row replay-row", "")?;
            self.add(&row, "span", "room-title", &replay.title)?;
            let when = js_sys::Date::new(&JsValue::from_f64(replay.started_at * 1000.0));
            let when: String = when.to_locale_string("default", &JsValue::UNDEFINED).into();
            let kib = replay.bytes.div_ceil(1024);
            self.add(&row, "span", "room-map", &format!("{} · {when} · {kib} KB", replay.map))?;
            let link = self.add(&row, "a", "room-join replay-watch", "Watch")?;
            link.set_attribute("href", &format!("/replay/{}", replay.id))?;
        }
        Ok(())
    }

    pub(crate) fn render_board(&self, board: &Board) -> Result<(), JsValue> {
        if board.period != self.period {
            return Ok(()); // An answer for the tab left behind.
        }
        self.board.set_text_content(None);
        if board.entries.is_empty() {
            self.add(&self.board, "li", "empty", "No kills yet.")?;
        }
        for entry in &board.entries {
            let row = self.add(&self.board, "li", "board-row", "")?;
            self.add(&row, "span", "board-rank", &format!("{}.", entry.rank))?;
            self.add(&row, "span", "board-name", &entry.name)?;
            self.add(&row, "span", "board-kd", &format!("{} / {}", entry.kills, entry.deaths))?;
        }
        Ok(())
    }
}

/// The room code of a `/r/CODE` address, if the page was opened through a room's link.
pub(crate) fn linked_code(window: &Window) -> Option<String> {
    let path = window.location().pathname().ok()?;
    let code = path.strip_prefix("/r/")?.trim_end_matches('/');
    let valid = !code.is_empty()
        && code.len() <= shared::protocol::MAX_ROOM_CHARS
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| code.to_string())
}
