//! Wires the page together and runs the `requestAnimationFrame` loop: socket events into the
//! app, the app's messages out to the socket, then render and DOM sync, every frame.

use std::cell::RefCell;
use std::rc::Rc;

use glam::Vec2;
use gloo_events::{EventListener, EventListenerOptions};
use gloo_render::{AnimationFrame, request_animation_frame};
use shared::codec::encode_client;
use shared::protocol::close;
use shared::validate::sanitize_name;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, KeyboardEvent, PointerEvent, TouchEvent, Window,
};

use crate::app::{App, Conn, Connect, Target};
use crate::camera::Camera;
use crate::input::{Focus, InputState, KeyOutcome, TouchPhase};
use crate::lobby::{Lobby, LobbyEvent, SeatRequest, linked_code};
use crate::net::{NetEvent, Socket, game_url, request_server_version, request_session};
use crate::render::Renderer;
use crate::replay::ReplayView;
use crate::theatre::Theatre;
use crate::ui::Ui;

const NAME_KEY: &str = "skirmish.name";

struct Game {
    window: Window,
    app: App,
    input: InputState,
    socket: Option<Socket>,
    /// The answer of the session-token request on its way, when it comes.
    token_answer: Rc<std::cell::Cell<Option<bool>>>,
    renderer: Renderer,
    ui: Ui,
    lobby: Lobby,
    /// The code of the `/r/CODE` link the page was opened with, until it has been tried.
    linked: Option<String>,
    /// The name a seat is being asked for under.
    asking_as: String,
    canvas: HtmlCanvasElement,
    last_frame_ms: Option<f64>,
    /// The camera of the last frame drawn (debug hook, drags).
    last_camera: Option<Camera>,
    /// The replay page (`/replay/ID`), instead of the lobby and a room.
    theatre: Option<Rc<RefCell<Theatre>>>,
}

/// Everything that must live as long as the page.
struct Page {
    _game: Rc<RefCell<Game>>,
    _listeners: Vec<EventListener>,
    _debug_hook: Closure<dyn Fn() -> JsValue>,
    _frame: Rc<RefCell<Option<AnimationFrame>>>,
}

thread_local! {
    static PAGE: RefCell<Option<Page>> = const { RefCell::new(None) };
}

pub(crate) fn start() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let canvas: HtmlCanvasElement =
        document.get_element_by_id("game").ok_or("#game canvas is missing")?.dyn_into()?;
    let ctx: CanvasRenderingContext2d =
        canvas.get_context("2d")?.ok_or("no 2d context")?.dyn_into()?;
    let ui = Ui::new(&document)?;
    if let Ok(Some(storage)) = window.local_storage()
        && let Ok(Some(name)) = storage.get_item(NAME_KEY)
    {
        ui.name_input.set_value(&name);
    }
    request_server_version(&window, ui.server_version.clone());
    let lobby = Lobby::new(&document)?;
    lobby.start_session();
    let linked = linked_code(&window);
    if let Some(code) = &linked {
        lobby.code_input.set_value(code);
    }
    let theatre = Theatre::open(&window, &document)?.map(|t| Rc::new(RefCell::new(t)));
    let mut renderer = Renderer::new(canvas.clone(), ctx);
    renderer.resize(window.device_pixel_ratio());
    let game = Rc::new(RefCell::new(Game {
        window: window.clone(),
        app: App::new(),
        input: InputState::default(),
        socket: None,
        token_answer: Rc::new(std::cell::Cell::new(None)),
        renderer,
        ui,
        lobby,
        linked,
        asking_as: String::new(),
        canvas: canvas.clone(),
        last_frame_ms: None,
        last_camera: None,
        theatre: theatre.clone(),
    }));
    // Opened through a room's link with a name already known: straight into that room; with
    // `?spectate`, straight to watching it.
    let watch_code = game.borrow().linked.clone().filter(|_| spectate_link(&window));
    if let Some(code) = watch_code {
        game.borrow_mut().watch_room(code.clone(), code, String::new());
    }
    game.borrow_mut().follow_link();
    let mut listeners = listeners(&window, &game)?;
    if let Some(theatre) = &theatre {
        listeners.extend(crate::theatre::listeners(&window, theatre)?);
    }
    let debug_game = game.clone();
    let debug_hook = Closure::<dyn Fn() -> JsValue>::new(move || {
        debug_snapshot(&debug_game.borrow()).unwrap_or(JsValue::NULL)
    });
    js_sys::Reflect::set(&window, &"skirmishDebug".into(), debug_hook.as_ref())?;
    let frame = Rc::new(RefCell::new(None));
    schedule(&frame, game.clone());
    PAGE.with(|page| {
        *page.borrow_mut() = Some(Page {
            _game: game,
            _listeners: listeners,
            _debug_hook: debug_hook,
            _frame: frame,
        })
    });
    Ok(())
}

/// Whether the page's address asks to watch (`/r/CODE?spectate`).
fn spectate_link(window: &Window) -> bool {
    let search = window.location().search().unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .any(|pair| pair == "spectate" || pair.starts_with("spectate="))
}

fn schedule(slot: &Rc<RefCell<Option<AnimationFrame>>>, game: Rc<RefCell<Game>>) {
    let next_slot = slot.clone();
    *slot.borrow_mut() = Some(request_animation_frame(move |timestamp| {
        if let Err(err) = game.borrow_mut().frame(timestamp) {
            web_sys::console::error_1(&err);
        }
        schedule(&next_slot, game);
    }));
}

impl Game {
    fn frame(&mut self, now: f64) -> Result<(), JsValue> {
        let frame_ms = self.last_frame_ms.map_or(0.0, |last| now - last);
        self.last_frame_ms = Some(now);
        self.renderer.resize(self.window.device_pixel_ratio());
        if let Some(theatre) = self.theatre.clone() {
            return self.replay_frame(&mut theatre.borrow_mut(), frame_ms, now);
        }
        if matches!(self.app.conn, Conn::Idle | Conn::Closed { .. }) {
            self.lobby.poll(now);
        }
        self.pump_lobby(now)?;
        self.pump_socket(now)?;
        let input = &mut self.input;
        self.app.update(now, frame_ms, || input.command());
        if let Some(socket) = &self.socket {
            for message in self.app.take_outgoing() {
                socket.send(&encode_client(&message));
            }
        }
        let scene = self.app.scene(now);
        let camera = scene.as_ref().map(|scene| self.renderer.camera(scene));
        self.renderer.draw(scene.as_ref().zip(camera.as_ref()), &self.input, now)?;
        self.last_camera = camera;
        // The next inputs aim from where our ship is on screen now, through the same camera.
        if let Some(camera) = camera {
            self.input.set_aim_origin(camera.to_screen(self.app.camera(now)));
            self.app.set_view(camera.visible().1 / 2.0, now);
        }
        self.ui.sync(&self.app, now)
    }

    /// A frame of the replay page: play on, draw the match, show its scoreboard and feed.
    fn replay_frame(
        &mut self,
        theatre: &mut Theatre,
        frame_ms: f64,
        now: f64,
    ) -> Result<(), JsValue> {
        theatre.frame(frame_ms)?;
        let scene = theatre.view.as_ref().map(ReplayView::scene);
        let camera = scene.as_ref().map(|scene| self.renderer.camera(scene));
        self.renderer.draw(scene.as_ref().zip(camera.as_ref()), &self.input, now)?;
        self.last_camera = camera;
        match &theatre.view {
            Some(view) => self.ui.sync_replay(view),
            None => Ok(()),
        }
    }

    fn pump_socket(&mut self, now: f64) -> Result<(), JsValue> {
        if let Some(ok) = self.token_answer.take() {
            self.app.on_token(ok, now, js_sys::Math::random());
        }
        if self.socket.is_none() {
            match self.app.connect_step(now) {
                None => {}
                Some(Connect::FetchToken) => {
                    request_session(&self.window, self.token_answer.clone());
                }
                Some(Connect::Open { server }) => {
                    let url = match server {
                        Some(url) => url,
                        None => game_url(&self.window.location())?,
                    };
                    match Socket::connect(&url) {
                        Ok(socket) => self.socket = Some(socket),
                        Err(_) => self.app.on_close(
                            close::ABNORMAL,
                            "cannot open the connection",
                            now,
                            js_sys::Math::random(),
                        ),
                    }
                }
            }
        }
        let Some(socket) = &self.socket else { return Ok(()) };
        for event in socket.drain() {
            match event {
                NetEvent::Open => self.app.on_open(),
                NetEvent::Message(bytes) => {
                    if let Err(err) = self.app.on_message(&bytes, now) {
                        web_sys::console::warn_1(
                            &format!("bad message from the server: {err}").into(),
                        );
                        // Pages may only send 1000 or 3000–4999; the app still records 1002.
                        socket.close(crate::net::UNDECODABLE, "undecodable message");
                        self.app.on_close(
                            close::PROTOCOL_ERROR,
                            &format!("bad message from the server: {err}"),
                            now,
                            0.0,
                        );
                        self.socket = None;
                        return Ok(());
                    }
                }
                NetEvent::Closed { code, reason } => {
                    self.app.on_close(code, &reason, now, js_sys::Math::random());
                    self.socket = None;
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Pointer or touch position in canvas CSS pixels.
    fn on_canvas(&self, client_x: i32, client_y: i32) -> Vec2 {
        let rect = self.canvas.get_bounding_client_rect();
        Vec2::new(
            (f64::from(client_x) - rect.left()) as f32,
            (f64::from(client_y) - rect.top()) as f32,
        )
    }

    /// Asks the lobby for a seat under the name in the form (checked first).
    fn request_seat(&mut self, request: SeatRequest) {
        let raw = self.ui.name_input.value();
        match sanitize_name(&raw) {
            Ok(name) => {
                self.ui.show_join_error(None);
                if let Ok(Some(storage)) = self.window.local_storage() {
                    let _ = storage.set_item(NAME_KEY, &name);
                }
                self.asking_as = name;
                self.lobby.ask_seat(request);
            }
            Err(err) => {
                self.ui.show_join_error(Some(&err.to_string()));
                let _ = self.ui.name_input.focus();
            }
        }
    }

    /// The form's main button: the linked room if the page came through a link, else quick
    /// play.
    fn submit_join(&mut self) {
        match self.linked.clone() {
            Some(code) => self.request_seat(SeatRequest::Code(code)),
            None => self.request_seat(SeatRequest::QuickPlay),
        }
    }

    fn follow_link(&mut self) {
        if self.linked.is_some() && !self.ui.name_input.value().trim().is_empty() {
            self.submit_join();
        }
    }

    fn create_room(&mut self) {
        let lobby = &self.lobby;
        let title = match shared::validate::sanitize_room_title(&lobby.room_title.value()) {
            Ok(title) => title,
            Err(err) => {
                self.ui.show_join_error(Some(&err.to_string()));
                let _ = lobby.room_title.focus();
                return;
            }
        };
        let request = SeatRequest::Create {
            title,
            map: lobby.room_map.value(),
            capacity: lobby.room_capacity.value().parse().unwrap_or(8),
            public: lobby.room_public.checked(),
            spectators_chat: lobby.room_spectator_chat.checked(),
        };
        self.request_seat(request);
    }

    /// Answers of the lobby's background requests.
    fn pump_lobby(&mut self, now: f64) -> Result<(), JsValue> {
        for event in self.lobby.take_events() {
            match event {
                LobbyEvent::Rooms(rooms) => self.lobby.render_rooms(&rooms)?,
                LobbyEvent::Board(board) => self.lobby.render_board(&board)?,
                LobbyEvent::Career(career) => self.lobby.show_career(&career),
                LobbyEvent::Replays(replays) => self.lobby.render_replays(&replays)?,
                LobbyEvent::RememberedName(name) => {
                    if self.ui.name_input.value().trim().is_empty() {
                        self.ui.name_input.set_value(&name);
                        self.follow_link();
                    }
                }
                LobbyEvent::Seat(seat) => {
                    let target = seat.target();
                    // The address bar shows the room's link, so it can be shared or reloaded.
                    if let Some(link) = &target.invite
                        && let Ok(history) = self.window.history()
                    {
                        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(link));
                    }
                    self.linked = None;
                    let name = std::mem::take(&mut self.asking_as);
                    self.app.join(&name, target);
                    let _ = self.canvas.focus();
                }
                LobbyEvent::Refused { message, transient } => {
                    self.linked = None;
                    // A rejoin after a restart asks again later while the server is away; a
                    // refusal (the room is gone) ends it at once.
                    if transient && self.app.rejoin_failed(now, js_sys::Math::random()) {
                        continue;
                    }
                    self.app.stop_rejoin();
                    self.ui.show_join_error(Some(&message));
                }
            }
        }
        if self.app.take_rejoin(now) {
            // The server closed with 1012: a public room's player quick-plays again (another
            // process of the cluster, or this one once it is back); a private room's asks for
            // its code, which answers only if the room still runs somewhere.
            self.asking_as = self.app.name.clone();
            let target = &self.app.target;
            let request = if target.invite.is_none() {
                SeatRequest::QuickPlay
            } else {
                SeatRequest::Code(target.room.clone())
            };
            self.lobby.ask_seat(request);
        }
        self.lobby.show_notice(self.app.notice.as_deref());
        Ok(())
    }

    /// Watches `room` without a ship, under the name in the form (or "Spectator").
    fn watch_room(&mut self, room: String, title: String, map: String) {
        let name =
            sanitize_name(&self.ui.name_input.value()).unwrap_or_else(|_| "Spectator".to_string());
        self.linked = None;
        let target = Target { room, title, map, spectate: true, ..Target::default() };
        self.app.join(&name, target);
        let _ = self.canvas.focus();
    }

    /// Back to the lobby: the socket closes cleanly, which frees the seat at once.
    fn leave_room(&mut self) {
        if let Some(socket) = self.socket.take() {
            socket.close(close::NORMAL, "left for the lobby");
        }
        self.app.leave();
        if let Ok(history) = self.window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some("/"));
        }
    }
}

/// What a button of the page does to the game.
type Action = fn(&mut Game);

fn listeners(window: &Window, game: &Rc<RefCell<Game>>) -> Result<Vec<EventListener>, JsValue> {
    let mut all = lobby_listeners(window, game)?;
    all.extend(keyboard_listeners(window, game)?);
    all.extend(canvas_listeners(game));
    Ok(all)
}

/// The lobby's form and buttons, the room list's join buttons, the room bar's Leave.
fn lobby_listeners(
    window: &Window,
    game: &Rc<RefCell<Game>>,
) -> Result<Vec<EventListener>, JsValue> {
    let document = window.document().ok_or("no document")?;
    let active = EventListenerOptions::enable_prevent_default();
    let mut all = Vec::new();
    let g = game.clone();
    let form = g.borrow().ui.join_form.clone();
    all.push(EventListener::new_with_options(&form, "submit", active, move |event| {
        event.prevent_default();
        g.borrow_mut().submit_join();
    }));
    let buttons: [(&str, Action); 5] = [
        ("code-button", |game| {
            let code = game.lobby.code_input.value().trim().to_string();
            game.request_seat(SeatRequest::Code(code));
        }),
        ("create-button", Game::create_room),
        ("board-all", |game| game.lobby.show_period("all")),
        ("board-week", |game| game.lobby.show_period("week")),
        ("leave-button", Game::leave_room),
    ];
    for (id, action) in buttons {
        let g = game.clone();
        let button = document.get_element_by_id(id).ok_or("a lobby button is missing")?;
        all.push(EventListener::new(&button, "click", move |_| action(&mut g.borrow_mut())));
    }
    // Join buttons of the room list, which is rebuilt every poll: one listener on the list.
    let g = game.clone();
    let list = document.get_element_by_id("room-list").ok_or("#room-list is missing")?;
    all.push(EventListener::new(&list, "click", move |event| {
        let Some(target) = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        if let Some(room) = target.get_attribute("data-room") {
            g.borrow_mut().request_seat(SeatRequest::Code(room));
        } else if let Some(url) = target.get_attribute("data-watch-url") {
            // A room of the cluster: its own process serves the page that watches it.
            let _ = web_sys::window().map(|window| window.location().assign(&url));
        } else if let Some(room) = target.get_attribute("data-watch") {
            let title = target.get_attribute("data-title").unwrap_or_default();
            let map = target.get_attribute("data-map").unwrap_or_default();
            g.borrow_mut().watch_room(room, title, map);
        }
    }));
    // A click on a name in the scoreboard: a spectator follows that player.
    let g = game.clone();
    let board = document.get_element_by_id("scoreboard").ok_or("#scoreboard is missing")?;
    all.push(EventListener::new(&board, "click", move |event| {
        let row = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("[data-player]").ok().flatten());
        let Some(id) = row.and_then(|row| row.get_attribute("data-player")) else { return };
        let mut game = g.borrow_mut();
        let now = game.last_frame_ms.unwrap_or(0.0);
        game.app.follow(id.parse().ok().map(shared::ids::PlayerId), now);
    }));
    Ok(all)
}

/// Keys steer, open and send chat ([`InputState::key_pressed`] decides); the chat box's focus
/// stops steering; a window that loses focus lets go of every key.
fn keyboard_listeners(
    window: &Window,
    game: &Rc<RefCell<Game>>,
) -> Result<Vec<EventListener>, JsValue> {
    let document = window.document().ok_or("no document")?;
    let active = EventListenerOptions::enable_prevent_default();
    let chat = game.borrow().ui.chat_input.clone();
    let mut all = Vec::new();
    let g = game.clone();
    let chat_box = chat.clone();
    all.push(EventListener::new_with_options(window, "keydown", active, move |event| {
        let Some(event) = event.dyn_ref::<KeyboardEvent>() else { return };
        let theatre = g.borrow().theatre.clone();
        if let Some(theatre) = theatre {
            if theatre.borrow_mut().key(&event.code(), true) {
                event.prevent_default();
            }
            return;
        }
        let focus = if document.active_element().is_some_and(|el| el.is_same_node(Some(&chat_box)))
        {
            Focus::Chat
        } else if matches!(g.borrow().app.conn, Conn::Idle | Conn::Closed { .. }) {
            Focus::Lobby
        } else if g.borrow().app.watching() {
            Focus::Watching
        } else {
            Focus::Game
        };
        let outcome = g.borrow_mut().input.key_pressed(&event.code(), &event.key(), focus);
        // Focus changes fire the chat box's focus/blur listeners synchronously, so they
        // happen after the game is released.
        match outcome {
            KeyOutcome::Pass => {}
            KeyOutcome::Steer => event.prevent_default(),
            KeyOutcome::OpenChat => {
                event.prevent_default();
                let _ = chat_box.focus();
            }
            KeyOutcome::SendChat => {
                g.borrow_mut().app.send_chat(&chat_box.value());
                chat_box.set_value("");
                let _ = chat_box.blur();
            }
            KeyOutcome::CloseChat => {
                let _ = chat_box.blur();
            }
            KeyOutcome::FollowNext => {
                event.prevent_default();
                let mut game = g.borrow_mut();
                let now = game.last_frame_ms.unwrap_or(0.0);
                game.app.follow_next(now);
            }
        }
    }));
    let g = game.clone();
    all.push(EventListener::new(window, "keyup", move |event| {
        if let Some(event) = event.dyn_ref::<KeyboardEvent>() {
            let theatre = g.borrow().theatre.clone();
            match theatre {
                Some(theatre) => {
                    theatre.borrow_mut().key(&event.code(), false);
                }
                None => g.borrow_mut().input.key_up(&event.code()),
            }
        }
    }));
    let g = game.clone();
    all.push(EventListener::new(window, "blur", move |_| g.borrow_mut().input.release_all()));
    for (kind, typing) in [("focus", true), ("blur", false)] {
        let g = game.clone();
        all.push(EventListener::new(&chat, kind, move |_| g.borrow_mut().input.set_typing(typing)));
    }
    Ok(all)
}

/// Mouse and pen aim and fire on the canvas; touches steer with the two sticks.
fn canvas_listeners(game: &Rc<RefCell<Game>>) -> Vec<EventListener> {
    let active = EventListenerOptions::enable_prevent_default();
    let canvas = game.borrow().canvas.clone();
    let mut all = Vec::new();
    for (kind, down) in
        [("pointermove", None), ("pointerdown", Some(true)), ("pointerup", Some(false))]
    {
        let g = game.clone();
        all.push(EventListener::new(&canvas, kind, move |event| {
            let Some(event) = event.dyn_ref::<PointerEvent>() else { return };
            if event.pointer_type() == "touch" {
                return; // Touch steers with the sticks.
            }
            let mut game = g.borrow_mut();
            let at = game.on_canvas(event.client_x(), event.client_y());
            if let Some(theatre) = game.theatre.clone() {
                let scale = game.last_camera.map_or(1.0, |camera| camera.scale);
                let mut theatre = theatre.borrow_mut();
                match down {
                    Some(true) => theatre.drag(Some(at), scale),
                    Some(false) => theatre.drag(None, scale),
                    None if theatre.dragging() => theatre.drag(Some(at), scale),
                    None => {}
                }
                return;
            }
            match down {
                None => game.input.pointer_move(at),
                Some(true) if event.button() == 0 => game.input.pointer_down(at),
                Some(false) if event.button() == 0 => game.input.pointer_up(),
                _ => {}
            }
        }));
    }
    let phases = [
        ("touchstart", TouchPhase::Start),
        ("touchmove", TouchPhase::Move),
        ("touchend", TouchPhase::End),
        ("touchcancel", TouchPhase::End),
    ];
    for (kind, phase) in phases {
        let g = game.clone();
        all.push(EventListener::new_with_options(&canvas, kind, active, move |event| {
            let Some(event) = event.dyn_ref::<TouchEvent>() else { return };
            event.prevent_default();
            let mut game = g.borrow_mut();
            let width = game.renderer.css_size().0 as f32;
            let touches = event.changed_touches();
            for touch in (0..touches.length()).filter_map(|i| touches.get(i)) {
                let at = game.on_canvas(touch.client_x(), touch.client_y());
                game.input.touch(phase, touch.identifier(), at, width);
            }
        }));
    }
    all
}

/// `window.skirmishDebug()`: a plain object describing what the client sees (for tests).
/// The replay page's part of `window.skirmishDebug()`: where playback stands.
fn debug_replay(theatre: &Theatre) -> Result<JsValue, JsValue> {
    use js_sys::{Object, Reflect};
    let out = Object::new();
    let set = |key: &str, value: JsValue| Reflect::set(&out, &key.into(), &value);
    let Some(view) = &theatre.view else {
        set("loaded", false.into())?;
        return Ok(out.into());
    };
    set("loaded", true.into())?;
    set("title", view.title().into())?;
    set("position", (view.position() as f64).into())?;
    set("time", view.time_secs().into())?;
    set("duration", view.duration_secs().into())?;
    set("playing", view.playing.into())?;
    set("speed", view.speed().into())?;
    set("error", view.error().map_or(JsValue::NULL, JsValue::from))?;
    set("fingerprint", format!("{:016x}", view.fingerprint()).into())?;
    set("followed", view.followed().map_or(JsValue::NULL, |id| f64::from(id.0).into()))?;
    set("ships", (view.scene().ships.len() as f64).into())?;
    set("players", (view.players().len() as f64).into())?;
    Ok(out.into())
}

fn debug_snapshot(game: &Game) -> Result<JsValue, JsValue> {
    use js_sys::{Array, Object, Reflect};
    let app = &game.app;
    let set =
        |target: &Object, key: &str, value: JsValue| Reflect::set(target, &key.into(), &value);
    let out = Object::new();
    let state = match &app.conn {
        crate::app::Conn::Idle => "disconnected",
        crate::app::Conn::Connecting => "connecting",
        crate::app::Conn::Joined => "joined",
        crate::app::Conn::Reconnecting { .. } => "reconnecting",
        crate::app::Conn::Closed { .. } => "closed",
    };
    set(&out, "state", state.into())?;
    if let Some(theatre) = &game.theatre {
        set(&out, "replay", debug_replay(&theatre.borrow())?)?;
    }
    let room = Object::new();
    set(&room, "id", app.target.room.as_str().into())?;
    set(&room, "title", app.target.title.as_str().into())?;
    set(&room, "map", app.map().map_or(JsValue::NULL, |map| map.id.as_str().into()))?;
    set(&room, "invite", app.target.invite.as_deref().map_or(JsValue::NULL, JsValue::from))?;
    set(&out, "room", room.into())?;
    set(&out, "playerId", app.me().map_or(JsValue::NULL, |id| f64::from(id.0).into()))?;
    set(&out, "watching", app.watching().into())?;
    set(&out, "followed", app.followed().map_or(JsValue::NULL, |id| f64::from(id.0).into()))?;
    set(&out, "tick", app.latest().map_or(0.0, |s| f64::from(s.tick.0)).into())?;
    let players = Array::new();
    for p in app.latest().into_iter().flat_map(|s| s.players.iter()) {
        let entry = Object::new();
        set(&entry, "id", f64::from(p.id.0).into())?;
        set(&entry, "name", app.name_of(p.id).into())?;
        set(&entry, "x", f64::from(shared::protocol::dequantize_pos(p.x)).into())?;
        set(&entry, "y", f64::from(shared::protocol::dequantize_pos(p.y)).into())?;
        set(&entry, "alive", p.alive.into())?;
        set(&entry, "health", f64::from(p.health).into())?;
        set(&entry, "score", f64::from(p.score).into())?;
        players.push(&entry);
    }
    set(&out, "players", players.into())?;
    set(&out, "shotsSeen", (app.hud.shots_seen as f64).into())?;
    let chat = Array::new();
    for line in &app.hud.chat {
        chat.push(&format!("{}: {}", line.from, line.text).into());
    }
    set(&out, "chat", chat.into())?;
    // The camera and minimap of the last frame, in world units and canvas CSS pixels.
    if let Some(camera) = game.last_camera {
        let (corner, size) = camera.visible();
        let view = Object::new();
        set(&view, "x", f64::from(corner.x).into())?;
        set(&view, "y", f64::from(corner.y).into())?;
        set(&view, "width", f64::from(size.x).into())?;
        set(&view, "height", f64::from(size.y).into())?;
        set(&out, "view", view.into())?;
    }
    if let Some(map) = app.map() {
        let size = Object::new();
        set(&size, "width", f64::from(map.width).into())?;
        set(&size, "height", f64::from(map.height).into())?;
        set(&out, "map", size.into())?;
    }
    if let Some((minimap, faded)) = game.renderer.last_minimap() {
        let rect = Object::new();
        set(&rect, "x", f64::from(minimap.origin.x).into())?;
        set(&rect, "y", f64::from(minimap.origin.y).into())?;
        set(&rect, "width", f64::from(minimap.size.x).into())?;
        set(&rect, "height", f64::from(minimap.size.y).into())?;
        set(&rect, "faded", faded.into())?;
        set(&out, "minimap", rect.into())?;
    }
    set(&out, "fps", app.hud.fps.into())?;
    set(&out, "pingMs", app.clock.rtt_ms().map_or(JsValue::NULL, JsValue::from))?;
    Ok(out.into())
}
