//! The game socket: a web-sys `WebSocket` in arraybuffer mode, opened after `POST /api/session`
//! has put a fresh session token in the (`HttpOnly`) cookie the handshake carries. Callbacks only queue events;
//! the frame loop drains them. The socket owns its closures, so reconnecting leaks nothing.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// Inbound messages queued between two frames. A page that stops drawing (a hidden tab) would
/// otherwise pile them up; past this the socket is dropped and the app reconnects (resuming).
const MAX_QUEUED: usize = 2048;
/// Close code the client reports when it fell too far behind (application range 4000–4999:
/// browsers refuse to send protocol codes such as 1002 from a page).
pub(crate) const FELL_BEHIND: u16 = 4000;
/// Close code the client sends when the server's message could not be decoded.
pub(crate) const UNDECODABLE: u16 = 4002;

pub(crate) enum NetEvent {
    Open,
    Message(Vec<u8>),
    Closed { code: u16, reason: String },
}

pub(crate) struct Socket {
    ws: WebSocket,
    events: Rc<RefCell<VecDeque<NetEvent>>>,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// `ws://` or `wss://` (matching the page) on the page's own host, path `/ws`: the same build
/// works from the game server and behind `trunk serve`'s proxy.
pub(crate) fn game_url(location: &web_sys::Location) -> Result<String, JsValue> {
    let scheme = if location.protocol()? == "https:" { "wss" } else { "ws" };
    Ok(format!("{scheme}://{}/ws", location.host()?))
}

/// Asks the server for a session token; the browser stores it as a cookie. `answer` gets
/// whether that worked, for the frame loop to hand to the app.
pub(crate) fn request_session(window: &web_sys::Window, answer: Rc<Cell<Option<bool>>>) {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let promise = window.fetch_with_str_and_init("/api/session", &init);
    wasm_bindgen_futures::spawn_local(async move {
        let ok = match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(response) => response.dyn_into::<web_sys::Response>().is_ok_and(|r| r.ok()),
            Err(_) => false,
        };
        answer.set(Some(ok));
    });
}

/// Asks `/healthz` once for the server's version and protocol, and stores a line for the HUD
/// in `into` ("server 0.1.0, protocol 4"); a failure leaves it empty.
pub(crate) fn request_server_version(window: &web_sys::Window, into: Rc<RefCell<Option<String>>>) {
    let promise = window.fetch_with_str("/healthz");
    wasm_bindgen_futures::spawn_local(async move {
        let line = async {
            let response: web_sys::Response =
                wasm_bindgen_futures::JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
            if !response.ok() {
                return None;
            }
            let json = wasm_bindgen_futures::JsFuture::from(response.json().ok()?).await.ok()?;
            let version = js_sys::Reflect::get(&json, &"version".into()).ok()?.as_string()?;
            let protocol = js_sys::Reflect::get(&json, &"protocol".into()).ok()?.as_f64()?;
            Some(format!("server {version}, protocol {protocol}"))
        };
        *into.borrow_mut() = line.await;
    });
}

impl Socket {
    pub(crate) fn connect(url: &str) -> Result<Socket, JsValue> {
        let ws = WebSocket::new(url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let events = Rc::new(RefCell::new(VecDeque::new()));

        let queue = events.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            queue.borrow_mut().push_back(NetEvent::Open)
        });
        let queue = events.clone();
        let socket = ws.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Ok(buffer) = event.data().dyn_into::<js_sys::ArrayBuffer>() else { return };
            let mut queue = queue.borrow_mut();
            if queue.len() >= MAX_QUEUED {
                let _ = socket.close_with_code_and_reason(FELL_BEHIND, "client fell behind");
                queue.clear();
                queue.push_back(NetEvent::Closed {
                    code: FELL_BEHIND,
                    reason: "client fell behind".into(),
                });
                return;
            }
            queue.push_back(NetEvent::Message(js_sys::Uint8Array::new(&buffer).to_vec()));
        });
        let queue = events.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            queue
                .borrow_mut()
                .push_back(NetEvent::Closed { code: event.code(), reason: event.reason() });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket { ws, events, _on_open: on_open, _on_message: on_message, _on_close: on_close })
    }

    pub(crate) fn send(&self, bytes: &[u8]) {
        if self.ws.ready_state() == WebSocket::OPEN {
            // A failed send shows up as a close event; nothing else to do here.
            let _ = self.ws.send_with_u8_array(bytes);
        }
    }

    pub(crate) fn close(&self, code: u16, reason: &str) {
        let _ = self.ws.close_with_code_and_reason(code, reason);
    }

    /// Everything that happened since the last call, in order.
    pub(crate) fn drain(&self) -> Vec<NetEvent> {
        self.events.borrow_mut().drain(..).collect()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
