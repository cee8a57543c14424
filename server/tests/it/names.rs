//! Names by interest in a large room: a member is told the names its page shows — the ships
//! on its screen, the scoreboard's top, a chat line's speaker — and no other, each before the
//! line that shows it; a small room's members know everyone (see `game`).

use std::collections::BTreeSet;
use std::time::Duration;

use bots::client::{BotClient, Incoming};
use shared::ids::PlayerId;
use shared::protocol::{ClientMsg, GameEvent, InputCmd, ServerMsg};

use crate::harness::{TestServer, WAIT, repo_root, test_config};

/// What a client was told and shown while reading for `long`.
#[derive(Default)]
struct Page {
    /// Names told (`Welcome`'s roster and `Joined` events).
    named: BTreeSet<PlayerId>,
    /// Players its page showed: in a snapshot, the scoreboard's top, a chat line.
    shown: BTreeSet<PlayerId>,
    /// Chat lines whose speaker had not been named first.
    unnamed_speakers: Vec<PlayerId>,
    scoreboards: usize,
}

async fn read_page(client: &mut BotClient, long: Duration, page: &mut Page) {
    let until = tokio::time::Instant::now() + long;
    let mut pace = tokio::time::interval(Duration::from_millis(1000 / 30));
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(until) => return,
            // Inputs acknowledge its snapshots, so none is held back from it.
            _ = pace.tick() => { client.send_input(InputCmd::default()).await.expect("input"); }
            read = client.recv() => match read.expect("reading") {
                Incoming::Snapshot(snap) => page.shown.extend(snap.players.iter().map(|p| p.id)),
                Incoming::Message(ServerMsg::Scoreboard(board)) => {
                    page.scoreboards += 1;
                    page.shown.extend(board.top.iter().map(|entry| entry.id));
                }
                Incoming::Message(ServerMsg::Events { events, .. }) => {
                    for event in events {
                        match event {
                            GameEvent::Joined { id, .. } => { page.named.insert(id); }
                            GameEvent::Chat { from, .. } => {
                                if !page.named.contains(&from) {
                                    page.unnamed_speakers.push(from);
                                }
                                page.shown.insert(from);
                            }
                            _ => {}
                        }
                    }
                }
                Incoming::Closed { code, reason } => panic!("closed {code}: {reason}"),
                _ => {}
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_room_tells_a_member_the_names_its_page_shows_and_no_other() {
    let mut config = test_config();
    // 64 spawn points 500 apart: with a view radius of 300 every ship spawns out of the others'
    // sight.
    config.map = repo_root().join("assets/maps/open.json");
    config.view_radius = 300.0;
    config.max_players = 64;
    let server = TestServer::start_with(config).await;
    let mut early = Vec::new();
    for index in 0..40 {
        early.push(server.join(&format!("p{index}")).await);
    }
    let mut late = server.join("late").await;
    let me = late.welcome.player_id;
    let roster: Vec<PlayerId> = late.welcome.roster.iter().map(|entry| entry.id).collect();
    assert_eq!(roster, [me], "a large room's Welcome names the newcomer alone");

    // A player far down the ranking (ties rank by id) speaks.
    let speaker = early[35].welcome.player_id;
    early[35].send(&ClientMsg::Chat { text: "hello".into() }).await.expect("chat");
    let mut page = Page { named: roster.into_iter().collect(), ..Page::default() };
    read_page(&mut late, Duration::from_millis(2500), &mut page).await;

    assert!(page.scoreboards >= 1, "a scoreboard came within 2.5 s");
    assert!(page.shown.contains(&speaker), "the chat line came");
    assert!(page.unnamed_speakers.is_empty(), "speakers named first: {:?}", page.unnamed_speakers);
    assert_eq!(page.named, page.shown, "told exactly the names its page showed");
    assert!(page.named.len() <= 13, "not the room's 41 names: {:?}", page.named);

    // The first player, seated while the room was small, knew every name as it came.
    let first = &mut early[0];
    let mut first_page = Page {
        named: first.welcome.roster.iter().map(|entry| entry.id).collect(),
        ..Page::default()
    };
    read_page(first, Duration::from_millis(200), &mut first_page).await;
    assert!(
        first_page.named.len() >= 32,
        "the small room's names: {}",
        first_page.named.len()
    );
    for client in early {
        client.close().await.expect("closing");
    }
    late.close().await.expect("closing");
    server.shutdown().await.expect("clean shutdown");
}
