use super::*;
use shared::map::Map;
use shared::replay::script::scripted_match;

fn arena() -> Map {
    Map::from_json(include_str!("../../../assets/maps/arena.json")).expect("arena")
}

fn view(ticks: u32) -> (ReplayView, Vec<shared::sim::World>) {
    let (file, lives) = scripted_match(arena(), ticks);
    (ReplayView::open(&file).expect("a recorded match opens"), lives)
}

#[test]
fn plays_at_the_page_clock_times_the_speed_and_stops_at_the_end() {
    let (mut view, lives) = view(600);
    assert_eq!(view.duration_secs(), 20.0, "600 ticks at 30 Hz");
    view.advance(1000.0); // a frame this long counts as 250 ms: no jump after a hidden tab
    assert_eq!(view.position(), 7, "250 ms at 30 Hz is 7.5 ticks");
    view.set_speed(4.0);
    for _ in 0..60 {
        view.advance(1000.0 / 60.0);
    }
    assert_eq!(view.position(), 127, "one second at ×4 is 120 ticks more");
    view.set_speed(100.0);
    assert_eq!(view.speed(), 8.0, "speeds stop at ×8");
    while view.playing {
        view.advance(250.0);
    }
    assert_eq!(view.position(), 600, "played to the end");
    assert_eq!(view.error(), None, "every checkpoint matched");
    assert_eq!(
        view.fingerprint(),
        shared::replay::fingerprint(&lives[599]),
        "the live world's end"
    );
    view.toggle();
    assert!(view.playing && view.position() == 0, "play at the end starts again");
}

#[test]
fn seeking_lands_where_playing_does_and_the_roster_follows() {
    let (mut played, lives) = view(900);
    played.seek(20.0);
    assert_eq!(played.position(), 600);
    assert_eq!(played.fingerprint(), shared::replay::fingerprint(&lives[599]));
    played.seek(5.0);
    assert_eq!(played.fingerprint(), shared::replay::fingerprint(&lives[149]), "and back");
    let names: Vec<String> = played.players().into_iter().map(|(_, name)| name).collect();
    let expected = lives[149].players.keys().map(|id| format!("p{}", id.0)).collect::<Vec<_>>();
    assert_eq!(names, expected, "the names of the players there, from the join records");
    assert!(!played.score_rows().is_empty());
}

#[test]
fn the_feed_and_beams_come_from_the_match_and_the_camera_follows_or_pans() {
    let (mut view, _) = view(900);
    let mut kills = 0;
    let mut beams = 0;
    for _ in 0..900 {
        view.advance(1000.0 / 30.0);
        beams = beams.max(view.scene().beams.len());
        kills = kills.max(view.hud.killfeed.len());
    }
    assert!(beams > 0, "shots draw beams");
    assert!(kills > 0, "kills reach the feed");
    view.seek(10.0);
    view.follow_next();
    let followed = view.followed().expect("Tab follows the first player");
    // Play on until the followed ship is alive (it may be waiting to respawn).
    let mut waited = 0;
    while !view.scene().ships.iter().any(|s| s.id == followed) && waited < 200 {
        view.advance(1000.0 / 30.0);
        waited += 1;
    }
    view.playing = false;
    let scene = view.scene();
    let ship = scene.ships.iter().find(|s| s.id == followed).expect("the followed ship is drawn");
    assert!(ship.is_me, "the followed ship is highlighted");
    assert_eq!(scene.focus, ship.pos, "the camera is on it");
    let focus = scene.focus;
    view.pan(Vec2::new(50.0, 0.0));
    assert_eq!(view.followed(), None, "panning frees the camera");
    assert_eq!(view.scene().focus.x, (focus.x + 50.0).min(arena().width), "from where it was");
}

#[test]
fn a_damaged_file_says_why_it_cannot_be_played() {
    let (file, _) = scripted_match(arena(), 100);
    let err = ReplayView::open(&file[..file.len() / 2]).err().expect("a truncated file");
    assert!(err.starts_with("this replay cannot be played"), "{err}");
    assert!(ReplayView::open(b"not a replay").is_err());
}
