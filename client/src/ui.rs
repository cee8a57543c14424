//! The DOM around the canvas: the lobby's form (its lists are `lobby`'s), chat, scoreboard,
//! kill feed, HUD (with the server's version), the room bar (title, invite link, back to the
//! lobby) and banner.
//! Player-supplied text (names, chat) is only ever set with `textContent`, never as HTML.
//! Sections are rebuilt only when the app's `ui_version` changes; the HUD four times a second.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, Node};

use crate::app::{App, Conn};
use crate::hud::{Hud, ScoreRow};
use crate::replay::ReplayView;

pub(crate) struct Ui {
    document: Document,
    pub(crate) join_form: HtmlElement,
    pub(crate) name_input: HtmlInputElement,
    pub(crate) join_error: HtmlElement,
    pub(crate) chat_input: HtmlInputElement,
    chat_log: HtmlElement,
    scoreboard: HtmlElement,
    killfeed: HtmlElement,
    hud: HtmlElement,
    room_bar: HtmlElement,
    room_name: HtmlElement,
    invite: HtmlElement,
    banner: HtmlElement,
    shown_version: Option<u64>,
    hud_updated_ms: f64,
    banner_text: Option<String>,
    joined_shown: Option<bool>,
    /// The server's version for the HUD, filled in by `net::request_server_version`.
    pub(crate) server_version: Rc<RefCell<Option<String>>>,
}

/// The page's element `#id`, as a `T`, or an error naming what is wrong with the page.
pub(crate) fn by_id<T: JsCast>(document: &Document, id: &str) -> Result<T, JsValue> {
    document
        .get_element_by_id(id)
        .ok_or_else(|| JsValue::from_str(&format!("#{id} is missing from the page")))?
        .dyn_into::<T>()
        .map_err(|_| JsValue::from_str(&format!("#{id} has the wrong element type")))
}

/// Appends a new `<tag class=class>` holding `text` (as text, never HTML) to `parent`.
pub(crate) fn append(
    document: &Document,
    parent: &Node,
    tag: &str,
    class: &str,
    text: &str,
) -> Result<Element, JsValue> {
    let element = document.create_element(tag)?;
    element.set_class_name(class);
    element.set_text_content(Some(text));
    parent.append_child(&element)?;
    Ok(element)
}

impl Ui {
    pub(crate) fn new(document: &Document) -> Result<Ui, JsValue> {
        Ok(Ui {
            join_form: by_id(document, "join-form")?,
            name_input: by_id(document, "name-input")?,
            join_error: by_id(document, "join-error")?,
            chat_input: by_id(document, "chat-input")?,
            chat_log: by_id(document, "chat-log")?,
            scoreboard: by_id(document, "scoreboard")?,
            killfeed: by_id(document, "killfeed")?,
            hud: by_id(document, "hud")?,
            room_bar: by_id(document, "room-bar")?,
            room_name: by_id(document, "room-name")?,
            invite: by_id(document, "invite")?,
            banner: by_id(document, "banner")?,
            document: document.clone(),
            shown_version: None,
            hud_updated_ms: f64::NEG_INFINITY,
            banner_text: None,
            joined_shown: None,
            server_version: Rc::new(RefCell::new(None)),
        })
    }

    fn add(&self, parent: &Node, tag: &str, class: &str, text: &str) -> Result<Element, JsValue> {
        append(&self.document, parent, tag, class, text)
    }

    pub(crate) fn show_join_error(&self, text: Option<&str>) {
        self.join_error.set_text_content(text);
        self.join_error.set_hidden(text.is_none());
    }

    /// Brings the DOM in line with the app.
    pub(crate) fn sync(&mut self, app: &App, now_ms: f64) -> Result<(), JsValue> {
        let in_game = !matches!(app.conn, Conn::Idle | Conn::Closed { .. });
        if self.joined_shown != Some(in_game) {
            self.joined_shown = Some(in_game);
            self.join_form.set_hidden(in_game);
            for panel in
                [&self.chat_log, &self.scoreboard, &self.killfeed, &self.hud, &self.room_bar]
            {
                panel.set_hidden(!in_game);
            }
        }
        // Spectators write in the chat only where the room lets them (known from `Welcome`).
        let chat_hidden = !in_game || (app.watching() && !app.may_chat());
        if self.chat_input.hidden() != chat_hidden {
            self.chat_input.set_hidden(chat_hidden);
        }
        if self.shown_version != Some(app.hud.version) {
            self.shown_version = Some(app.hud.version);
            self.render_room(app);
            self.render_chat(app)?;
            self.render_scoreboard(&app.score_rows())?;
            self.render_killfeed(&app.hud)?;
        }
        let banner = app.banner(now_ms);
        if banner != self.banner_text {
            self.banner.set_text_content(banner.as_deref());
            self.banner.set_hidden(banner.is_none());
            self.banner_text = banner;
        }
        if now_ms - self.hud_updated_ms >= 250.0 {
            self.hud_updated_ms = now_ms;
            let ping = app.clock.rtt_ms().map_or("–".to_string(), |rtt| {
                format!("{rtt:.0} ms ±{:.0}", app.clock.jitter_ms())
            });
            let tick = app
                .clock
                .server_tick(now_ms, app.tick_hz())
                .map_or("–".to_string(), |t| format!("{t:.0}"));
            let mine = match (app.watching(), app.followed()) {
                (true, Some(id)) => format!("following {}", app.name_of(id)),
                (true, None) => "free camera".to_string(),
                (false, _) => format!("health {}", app.my_state().map_or(0, |me| me.health)),
            };
            let mut text = format!(
                "ping {ping} · {:.0} FPS · tick {tick} · {} players · {mine}",
                app.hud.fps,
                app.hud.player_count()
            );
            if let Some(version) = self.server_version.borrow().as_deref() {
                text.push_str(" · ");
                text.push_str(version);
            }
            self.hud.set_text_content(Some(&text));
        }
        Ok(())
    }

    /// The room's title and, for a private room, the link that brings friends in.
    fn render_room(&self, app: &App) {
        let target = &app.target;
        let title = if target.title.is_empty() { "main" } else { &target.title };
        let map = app.map().map_or(target.map.as_str(), |map| map.id.as_str());
        let line = if app.watching() {
            format!("{title} · {map} · watching: Tab or a name follows, WASD looks around")
        } else {
            format!("{title} · {map}")
        };
        self.room_name.set_text_content(Some(&line));
        let origin = self.document.location().and_then(|l| l.origin().ok()).unwrap_or_default();
        let invite = target.invite.as_ref().map(|link| format!("Invite: {origin}{link}"));
        self.invite.set_text_content(invite.as_deref());
        self.invite.set_hidden(invite.is_none());
    }

    fn render_chat(&self, app: &App) -> Result<(), JsValue> {
        self.chat_log.set_text_content(None);
        for line in &app.hud.chat {
            let row = self.add(&self.chat_log, "div", "chat-line", "")?;
            self.add(&row, "span", "chat-name", &format!("{}: ", line.from))?;
            self.add(&row, "span", "chat-text", &line.text)?;
        }
        self.chat_log.set_scroll_top(self.chat_log.scroll_height());
        Ok(())
    }

    /// A replay shows its scoreboard and kill feed, nothing of the lobby or a room.
    pub(crate) fn sync_replay(&mut self, view: &ReplayView) -> Result<(), JsValue> {
        if self.joined_shown != Some(true) {
            self.joined_shown = Some(true);
            self.join_form.set_hidden(true);
            for panel in [&self.chat_log, &self.hud, &self.room_bar, &self.banner] {
                panel.set_hidden(true);
            }
            self.chat_input.set_hidden(true);
            self.scoreboard.set_hidden(false);
            self.killfeed.set_hidden(false);
        }
        if self.shown_version != Some(view.hud.version) {
            self.shown_version = Some(view.hud.version);
            self.render_scoreboard(&view.score_rows())?;
            self.render_killfeed(&view.hud)?;
        }
        Ok(())
    }

    fn render_scoreboard(&self, rows: &[ScoreRow]) -> Result<(), JsValue> {
        self.scoreboard.set_text_content(None);
        self.add(&self.scoreboard, "div", "score-title", "Scoreboard  (kills / deaths)")?;
        for row in rows {
            let class = if row.is_me { "score-row me" } else { "score-row" };
            let line = self.add(&self.scoreboard, "div", class, "")?;
            line.set_attribute("data-player", &row.id.0.to_string())?;
            self.add(&line, "span", "score-rank", &format!("{}.", row.rank))?;
            self.add(&line, "span", "score-name", &row.name)?;
            self.add(&line, "span", "score-kd", &format!("{} / {}", row.score, row.deaths))?;
        }
        Ok(())
    }

    fn render_killfeed(&self, hud: &Hud) -> Result<(), JsValue> {
        self.killfeed.set_text_content(None);
        for line in &hud.killfeed {
            self.add(&self.killfeed, "div", "kill-line", &line.text)?;
        }
        Ok(())
    }
}
