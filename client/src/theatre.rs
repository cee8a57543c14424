//! The replay page (wasm): `/replay/ID?t=SECONDS` downloads `/api/replays/ID`, plays it through
//! a [`ReplayView`] and wires the replay bar: play/pause, the position slider, speed, who to
//! follow (Tab cycles), a link to this moment; WASD/arrows or a drag on the canvas move the
//! free camera. A file that cannot be played says why in the bar.

use std::cell::RefCell;
use std::rc::Rc;

use glam::Vec2;
use gloo_events::EventListener;
use shared::ids::PlayerId;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, HtmlElement, HtmlInputElement, HtmlSelectElement, Window};

use crate::replay::{ReplayView, SPEEDS};
use crate::ui::{append, by_id};

/// Free-camera speed for held keys, in world units per second.
const PAN_PER_SEC: f32 = 700.0;

/// What the download brought: the file, or why there is none.
type Download = Rc<RefCell<Option<Result<Vec<u8>, String>>>>;

pub(crate) struct Theatre {
    id: String,
    /// `?t=`: where to start once the file is in.
    start_at: f64,
    pub(crate) view: Option<ReplayView>,
    download: Download,
    document: Document,
    bar: HtmlElement,
    title: HtmlElement,
    play: HtmlElement,
    seek: HtmlInputElement,
    time: HtmlElement,
    speed: HtmlSelectElement,
    follow: HtmlSelectElement,
    link: HtmlInputElement,
    error: HtmlElement,
    /// The players listed in the follow menu, to rebuild it only when they change.
    listed: Vec<(PlayerId, String)>,
    /// Free-camera keys held: (left, right, up, down).
    pan_keys: [bool; 4],
    /// The last pointer position of a drag on the canvas.
    dragging: Option<Vec2>,
    /// The slider is being dragged: the frame loop does not move it meanwhile.
    pub(crate) scrubbing: bool,
}

/// `/replay/ID` → `ID` (letters, digits and `-`, as the server names replays).
pub(crate) fn replay_id(window: &Window) -> Option<String> {
    let path = window.location().pathname().ok()?;
    let id = path.strip_prefix("/replay/")?.trim_end_matches('/');
    shared::replay::is_replay_id(id).then(|| id.to_string())
}

/// `?t=83.5` → 83.5 seconds.
fn start_time(window: &Window) -> f64 {
    let search = window.location().search().unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("t="))
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|t| t.is_finite() && *t >= 0.0)
        .unwrap_or(0.0)
}

impl Theatre {
    /// The replay page, if the page's address is one; starts the download.
    pub(crate) fn open(window: &Window, document: &Document) -> Result<Option<Theatre>, JsValue> {
        let Some(id) = replay_id(window) else { return Ok(None) };
        let theatre = Theatre {
            start_at: start_time(window),
            view: None,
            download: Rc::new(RefCell::new(None)),
            document: document.clone(),
            bar: by_id(document, "replay-bar")?,
            title: by_id(document, "replay-title")?,
            play: by_id(document, "replay-play")?,
            seek: by_id(document, "replay-seek")?,
            time: by_id(document, "replay-time")?,
            speed: by_id(document, "replay-speed")?,
            follow: by_id(document, "replay-follow")?,
            link: by_id(document, "replay-link")?,
            error: by_id(document, "replay-error")?,
            listed: Vec::new(),
            pan_keys: [false; 4],
            dragging: None,
            scrubbing: false,
            id,
        };
        theatre.bar.set_hidden(false);
        theatre.title.set_text_content(Some("Loading the replay…"));
        for speed in SPEEDS {
            let option = append(document, &theatre.speed, "option", "", &format!("×{speed}"))?;
            option.set_attribute("value", &speed.to_string())?;
            if speed == 1.0 {
                option.set_attribute("selected", "")?;
            }
        }
        download(window, &format!("/api/replays/{}", theatre.id), theatre.download.clone());
        Ok(Some(theatre))
    }

    /// One frame: takes the download when it arrives, plays `frame_ms`, pans, and brings the
    /// bar in line.
    pub(crate) fn frame(&mut self, frame_ms: f64) -> Result<(), JsValue> {
        let arrived = self.download.borrow_mut().take();
        match arrived {
            Some(Ok(bytes)) => match ReplayView::open(&bytes) {
                Ok(mut view) => {
                    view.seek(self.start_at);
                    self.title.set_text_content(Some(view.title()));
                    self.seek.set_max(&format!("{:.1}", view.duration_secs()));
                    self.view = Some(view);
                }
                Err(err) => self.show_error(&err),
            },
            Some(Err(err)) => self.show_error(&err),
            None => {}
        }
        let Some(view) = &mut self.view else { return Ok(()) };
        view.advance(frame_ms);
        let [left, right, up, down] = self.pan_keys.map(f32::from);
        let pan = Vec2::new(right - left, down - up);
        if pan != Vec2::ZERO {
            view.pan(pan.normalize() * PAN_PER_SEC * (frame_ms / 1000.0) as f32);
        }
        if let Some(err) = view.error().map(str::to_string) {
            self.show_error(&err);
        }
        self.sync_bar()
    }

    fn show_error(&self, message: &str) {
        web_sys::console::warn_1(&message.into());
        self.error.set_text_content(Some(message));
        self.error.set_hidden(false);
        self.title.set_text_content(Some("Replay"));
    }

    fn sync_bar(&mut self) -> Result<(), JsValue> {
        let Some(view) = &self.view else { return Ok(()) };
        let clock = |secs: f64| format!("{}:{:02}", (secs / 60.0) as u64, (secs % 60.0) as u64);
        let time = format!("{} / {}", clock(view.time_secs()), clock(view.duration_secs()));
        if self.time.text_content().as_deref() != Some(time.as_str()) {
            self.time.set_text_content(Some(&time));
        }
        if !self.scrubbing {
            self.seek.set_value(&format!("{:.1}", view.time_secs()));
        }
        self.play.set_text_content(Some(if view.playing { "Pause" } else { "Play" }));
        let players = view.players();
        if players != self.listed {
            self.follow.set_text_content(None);
            let free = append(&self.document, &self.follow, "option", "", "Free camera")?;
            free.set_attribute("value", "")?;
            for (id, name) in &players {
                let option = append(&self.document, &self.follow, "option", "", name)?;
                option.set_attribute("value", &id.0.to_string())?;
            }
            self.listed = players;
        }
        let followed = view.followed().map_or(String::new(), |id| id.0.to_string());
        if self.follow.value() != followed {
            self.follow.set_value(&followed);
        }
        Ok(())
    }

    /// The address of this moment, shown in the bar and put in the address bar.
    fn share(&self, window: &Window) {
        let Some(view) = &self.view else { return };
        let path = format!("/replay/{}?t={:.1}", self.id, view.time_secs());
        let origin = window.location().origin().unwrap_or_default();
        self.link.set_value(&format!("{origin}{path}"));
        self.link.set_hidden(false);
        self.link.select();
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&path));
        }
    }

    /// A key on the replay page: Space plays or pauses, Tab follows the next player, WASD or
    /// arrows pan. `true` when the key was the page's (the shell prevents its default).
    pub(crate) fn key(&mut self, code: &str, down: bool) -> bool {
        let pan = match code {
            "KeyA" | "ArrowLeft" => Some(0),
            "KeyD" | "ArrowRight" => Some(1),
            "KeyW" | "ArrowUp" => Some(2),
            "KeyS" | "ArrowDown" => Some(3),
            _ => None,
        };
        if let Some(index) = pan {
            self.pan_keys[index] = down;
            return true;
        }
        let Some(view) = &mut self.view else { return false };
        match code {
            "Space" if down => view.toggle(),
            "Tab" if down => view.follow_next(),
            _ => return false,
        }
        true
    }

    /// A drag on the canvas moves the free camera (by screen pixels over `scale`).
    pub(crate) fn drag(&mut self, at: Option<Vec2>, scale: f32) {
        match (self.dragging, at) {
            (Some(from), Some(to)) => {
                if let Some(view) = &mut self.view {
                    view.pan((from - to) / scale.max(0.01));
                }
                self.dragging = Some(to);
            }
            (_, at) => self.dragging = at,
        }
    }

    pub(crate) fn dragging(&self) -> bool {
        self.dragging.is_some()
    }
}

/// Wires the bar's controls to `theatre`.
pub(crate) fn listeners(
    window: &Window,
    theatre: &Rc<RefCell<Theatre>>,
) -> Result<Vec<EventListener>, JsValue> {
    let t = theatre.borrow();
    let mut all = Vec::new();
    let handle = theatre.clone();
    all.push(EventListener::new(&t.play, "click", move |_| {
        if let Some(view) = &mut handle.borrow_mut().view {
            view.toggle();
        }
    }));
    let (handle, seek) = (theatre.clone(), t.seek.clone());
    all.push(EventListener::new(&t.seek, "input", move |_| {
        let mut theatre = handle.borrow_mut();
        theatre.scrubbing = true;
        if let (Some(view), Ok(secs)) = (&mut theatre.view, seek.value().parse::<f64>()) {
            view.seek(secs);
        }
    }));
    let handle = theatre.clone();
    all.push(EventListener::new(&t.seek, "change", move |_| handle.borrow_mut().scrubbing = false));
    let (handle, speed) = (theatre.clone(), t.speed.clone());
    all.push(EventListener::new(&t.speed, "change", move |_| {
        if let (Some(view), Ok(value)) = (&mut handle.borrow_mut().view, speed.value().parse()) {
            view.set_speed(value);
        }
    }));
    let (handle, follow) = (theatre.clone(), t.follow.clone());
    all.push(EventListener::new(&t.follow, "change", move |_| {
        let id = follow.value().parse::<u32>().ok().map(PlayerId);
        if let Some(view) = &mut handle.borrow_mut().view {
            view.follow(id);
        }
    }));
    let share = by_id::<HtmlElement>(&t.document, "replay-share")?;
    let (handle, window) = (theatre.clone(), window.clone());
    all.push(EventListener::new(&share, "click", move |_| handle.borrow().share(&window)));
    Ok(all)
}

/// GET `url` as bytes into `into` (or why not).
fn download(window: &Window, url: &str, into: Download) {
    let promise = window.fetch_with_str(url);
    wasm_bindgen_futures::spawn_local(async move {
        let result = async {
            let response: web_sys::Response = wasm_bindgen_futures::JsFuture::from(promise)
                .await
                .map_err(|_| "the server cannot be reached".to_string())?
                .dyn_into()
                .map_err(|_| "not an HTTP answer".to_string())?;
            if response.status() == 404 {
                return Err("no such replay (it may have been pruned)".to_string());
            }
            if !response.ok() {
                return Err(format!("the server answered {}", response.status()));
            }
            let buffer = response.array_buffer().map_err(|_| "no body".to_string())?;
            let buffer = wasm_bindgen_futures::JsFuture::from(buffer)
                .await
                .map_err(|_| "the download failed".to_string())?;
            Ok(js_sys::Uint8Array::new(&buffer).to_vec())
        };
        *into.borrow_mut() = Some(result.await);
    });
}
