use super::*;
use shared::protocol::buttons;

#[test]
fn keys_steer_and_diagonals_are_not_faster() {
    let cases: &[(&[&str], (i8, i8))] = &[
        (&[], (0, 0)),
        (&["KeyD"], (127, 0)),
        (&["ArrowLeft"], (-127, 0)),
        (&["KeyW"], (0, -127)),
        (&["KeyS", "KeyD"], (90, 90)),
        (&["KeyA", "KeyD"], (0, 0)),
    ];
    for (keys, expected) in cases {
        let mut input = InputState::default();
        for key in *keys {
            input.key_down(key);
        }
        let cmd = input.command();
        assert_eq!((cmd.move_x, cmd.move_y), *expected, "keys {keys:?}");
    }
}

#[test]
fn typing_in_chat_suppresses_keys() {
    let mut input = InputState::default();
    input.set_typing(true);
    input.key_down("KeyD");
    input.key_down("Space");
    let cmd = input.command();
    assert_eq!((cmd.move_x, cmd.buttons), (0, 0), "no steering or firing while typing");
}

#[test]
fn a_quick_click_fires_exactly_once() {
    let mut input = InputState::default();
    input.pointer_down(Vec2::new(10.0, 0.0));
    input.pointer_up();
    assert_eq!(input.command().buttons, buttons::FIRE, "the click fires on the next tick");
    assert_eq!(input.command().buttons, 0, "and only once");
}

#[test]
fn mouse_aims_relative_to_the_ship() {
    let mut input = InputState::default();
    input.set_aim_origin(Vec2::new(500.0, 350.0));
    input.pointer_move(Vec2::new(500.0, 300.0));
    let cmd = input.command();
    assert_eq!((cmd.aim_x, cmd.aim_y), (0, -1000), "aim points up");
    // Near the map's edge the camera stops and the ship is drawn off-centre: the pointer at the
    // canvas centre is then to the ship's right.
    input.set_aim_origin(Vec2::new(100.0, 300.0));
    let cmd = input.command();
    assert_eq!((cmd.aim_x, cmd.aim_y), (1000, 0), "aim from where the ship is drawn");
}

#[test]
fn no_aim_before_the_ship_is_drawn() {
    let mut input = InputState::default();
    input.pointer_move(Vec2::new(500.0, 300.0));
    let cmd = input.command();
    assert_eq!((cmd.aim_x, cmd.aim_y), (0, 0));
}

#[test]
fn touch_sticks_move_aim_and_fire() {
    let mut input = InputState {
        move_stick: Some(Stick { touch_id: 1, origin: Vec2::ZERO, current: Vec2::new(30.0, 0.0) }),
        aim_stick: Some(Stick { touch_id: 2, origin: Vec2::ZERO, current: Vec2::new(0.0, 100.0) }),
        ..InputState::default()
    };
    let cmd = input.command();
    assert_eq!((cmd.move_x, cmd.move_y), (64, 0), "half deflection is half speed");
    assert_eq!((cmd.aim_x, cmd.aim_y), (0, 1000), "aim follows the right stick");
    assert_eq!(cmd.buttons, buttons::FIRE, "holding the aim stick fires");
}

#[test]
fn release_all_stops_everything() {
    let mut input = InputState::default();
    input.key_down("KeyD");
    input.pointer_down(Vec2::X);
    input.command();
    input.release_all();
    let cmd = input.command();
    assert_eq!((cmd.move_x, cmd.buttons), (0, 0), "nothing held after focus loss");
}

#[test]
fn keys_go_where_the_focus_is() {
    let mut input = InputState::default();
    assert_eq!(input.key_pressed("KeyW", "w", Focus::Lobby), KeyOutcome::Pass, "lobby form");
    assert_eq!(input.key_pressed("KeyW", "w", Focus::Chat), KeyOutcome::Pass, "typing a w");
    assert_eq!(input.command().move_y, 0, "neither steered");
    assert_eq!(input.key_pressed("KeyW", "w", Focus::Game), KeyOutcome::Steer);
    assert_eq!(input.command().move_y, -127, "in the game it steers");
    assert_eq!(input.key_pressed("KeyQ", "q", Focus::Game), KeyOutcome::Pass, "not a game key");
    assert_eq!(input.key_pressed("Enter", "Enter", Focus::Game), KeyOutcome::OpenChat);
    assert_eq!(input.key_pressed("Enter", "Enter", Focus::Chat), KeyOutcome::SendChat);
    assert_eq!(input.key_pressed("Escape", "Escape", Focus::Chat), KeyOutcome::CloseChat);
    assert_eq!(input.key_pressed("Enter", "Enter", Focus::Lobby), KeyOutcome::Pass, "submits");
    input.set_typing(true);
    assert_eq!(input.command().move_y, 0, "opening chat releases held keys");
    input.set_typing(false);
    assert_eq!(input.key_pressed("Tab", "Tab", Focus::Watching), KeyOutcome::FollowNext);
    assert_eq!(input.key_pressed("Tab", "Tab", Focus::Game), KeyOutcome::Pass, "players tab");
    assert_eq!(input.key_pressed("Enter", "Enter", Focus::Watching), KeyOutcome::Pass, "no chat");
    assert_eq!(input.key_pressed("Space", " ", Focus::Watching), KeyOutcome::Pass, "no fire");
    assert_eq!(input.key_pressed("KeyD", "d", Focus::Watching), KeyOutcome::Steer);
    assert_eq!(input.command().move_x, 127, "keys move a spectator's camera");
}

#[test]
fn touches_pick_their_stick_by_half_and_end_only_their_own() {
    let mut input = InputState::default();
    input.touch(TouchPhase::Start, 7, Vec2::new(100.0, 300.0), 800.0);
    input.touch(TouchPhase::Start, 8, Vec2::new(700.0, 300.0), 800.0);
    input.touch(TouchPhase::Move, 7, Vec2::new(160.0, 300.0), 800.0);
    input.touch(TouchPhase::Move, 8, Vec2::new(700.0, 200.0), 800.0);
    let cmd = input.command();
    assert_eq!((cmd.move_x, cmd.move_y), (127, 0), "left stick full right");
    assert_eq!((cmd.aim_x, cmd.aim_y), (0, -1000), "right stick aims up");
    assert_eq!(cmd.buttons, buttons::FIRE, "and fires");
    input.touch(TouchPhase::End, 7, Vec2::ZERO, 800.0);
    assert!(input.move_stick.is_none() && input.aim_stick.is_some(), "only touch 7 ended");
    input.touch(TouchPhase::End, 8, Vec2::ZERO, 800.0);
    assert_eq!(input.command().buttons, 0, "no stick, no fire");
}
