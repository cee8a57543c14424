//! Interest management: which players each client is told about.
//!
//! A uniform grid over the map, rebuilt each send tick, answers "who is near this point" by
//! looking only at the cells a view circle covers. A player enters a client's view within the
//! view radius and leaves it only beyond [`HYSTERESIS`] times that radius, so players on the
//! edge do not flicker in and out (each flicker would cost a full entity in the delta).

use glam::Vec2;

use crate::ids::PlayerId;

/// A visible player stays visible until this multiple of the view radius.
pub const HYSTERESIS: f32 = 1.15;

#[derive(Debug, Clone)]
pub struct Grid {
    cell: f32,
    cols: usize,
    rows: usize,
    cells: Vec<Vec<u32>>,
}

impl Grid {
    /// A grid over a `size` map with square cells of side `cell` (about the view radius).
    pub fn new(size: Vec2, cell: f32) -> Grid {
        let cell = cell.max(16.0);
        let cols = ((size.x / cell).ceil() as usize).clamp(1, 4096);
        let rows = ((size.y / cell).ceil() as usize).clamp(1, 4096);
        Grid { cell, cols, rows, cells: vec![Vec::new(); cols * rows] }
    }

    pub fn clear(&mut self) {
        self.cells.iter_mut().for_each(Vec::clear);
    }

    fn cell_of(&self, pos: Vec2) -> (usize, usize) {
        let col = (pos.x / self.cell).floor().clamp(0.0, (self.cols - 1) as f32) as usize;
        let row = (pos.y / self.cell).floor().clamp(0.0, (self.rows - 1) as f32) as usize;
        (col, row)
    }

    pub fn insert(&mut self, index: u32, pos: Vec2) {
        let (col, row) = self.cell_of(pos);
        self.cells[row * self.cols + col].push(index);
    }

    /// Every index in the cells the circle touches (a superset of those inside it).
    pub fn query(&self, center: Vec2, radius: f32, out: &mut Vec<u32>) {
        let (col0, row0) = self.cell_of(center - radius);
        let (col1, row1) = self.cell_of(center + radius);
        for row in row0..=row1 {
            for col in col0..=col1 {
                out.extend_from_slice(&self.cells[row * self.cols + col]);
            }
        }
    }
}

/// Whom `viewer` sees: itself, everyone within `radius`, and those it saw before (`previous`,
/// ids, sorted) still within `radius × HYSTERESIS`. `players` are (id, position) in id order,
/// indexed as in `grid`; the result is their indices, sorted (so in id order too), in `out`.
pub fn visible_set(
    grid: &Grid,
    players: &[(PlayerId, Vec2)],
    viewer: usize,
    radius: f32,
    previous: &[PlayerId],
    out: &mut Vec<u32>,
) {
    let (viewer_id, center) = players[viewer];
    visible_around(grid, players, center, Some(viewer_id), (radius, previous), out);
}

/// [`visible_set`] around any point `center` (a spectator's camera): everyone within the
/// radius, those in `previous` within the hysteresis margin, and `me` if it is a player.
pub fn visible_around(
    grid: &Grid,
    players: &[(PlayerId, Vec2)],
    center: Vec2,
    me: Option<PlayerId>,
    (radius, previous): (f32, &[PlayerId]),
    out: &mut Vec<u32>,
) {
    let enter_sq = radius * radius;
    let stay_sq = enter_sq * HYSTERESIS * HYSTERESIS;
    out.clear();
    grid.query(center, radius * HYSTERESIS, out);
    out.retain(|&index| {
        let (id, pos) = players[index as usize];
        let dist_sq = pos.distance_squared(center);
        Some(id) == me
            || dist_sq <= enter_sq
            || (dist_sq <= stay_sq && previous.binary_search(&id).is_ok())
    });
    // Each index sits in one cell, so the cells' lists never repeat one.
    out.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(positions: &[(u32, f32, f32)]) -> (Grid, Vec<(PlayerId, Vec2)>) {
        let mut grid = Grid::new(Vec2::new(4000.0, 4000.0), 800.0);
        let players: Vec<_> =
            positions.iter().map(|&(id, x, y)| (PlayerId(id), Vec2::new(x, y))).collect();
        for (index, (_, pos)) in players.iter().enumerate() {
            grid.insert(index as u32, *pos);
        }
        (grid, players)
    }

    fn ids(list: &[u32]) -> Vec<PlayerId> {
        list.iter().map(|&id| PlayerId(id)).collect()
    }

    /// The ids [`visible_set`] picks for player number `viewer`.
    fn visible_set(
        grid: &Grid,
        players: &[(PlayerId, Vec2)],
        viewer: usize,
        radius: f32,
        previous: &[PlayerId],
    ) -> Vec<PlayerId> {
        let mut indices = Vec::new();
        super::visible_set(grid, players, viewer, radius, previous, &mut indices);
        indices.iter().map(|&i| players[i as usize].0).collect()
    }

    #[test]
    fn sees_itself_and_neighbours_within_radius() {
        let (grid, players) = world(&[
            (1, 1000.0, 1000.0),
            (2, 1500.0, 1000.0),
            (3, 2000.0, 1000.0),
            (4, 3900.0, 3900.0),
        ]);
        let seen = visible_set(&grid, &players, 0, 800.0, &[]);
        assert_eq!(seen, ids(&[1, 2]), "500 units away is in view, 1000 is not");
        let far = visible_set(&grid, &players, 3, 800.0, &[]);
        assert_eq!(far, ids(&[4]), "a lone player sees only itself");
    }

    #[test]
    fn leaving_needs_the_hysteresis_margin() {
        let (grid, players) = world(&[(1, 1000.0, 1000.0), (2, 1850.0, 1000.0)]);
        let fresh = visible_set(&grid, &players, 0, 800.0, &[]);
        assert_eq!(fresh, ids(&[1]), "850 units away does not enter");
        let kept = visible_set(&grid, &players, 0, 800.0, &ids(&[1, 2]));
        assert_eq!(kept, ids(&[1, 2]), "but one already seen at 850 units stays (limit 920)");
        let (grid, players) = world(&[(1, 1000.0, 1000.0), (2, 1950.0, 1000.0)]);
        let gone = visible_set(&grid, &players, 0, 800.0, &ids(&[1, 2]));
        assert_eq!(gone, ids(&[1]), "beyond 920 units it leaves");
    }

    #[test]
    fn a_point_sees_its_surroundings_and_no_one_in_particular() {
        let (grid, players) =
            world(&[(1, 1000.0, 1000.0), (2, 1500.0, 1000.0), (3, 3000.0, 3000.0)]);
        let mut out = Vec::new();
        let center = Vec2::new(1250.0, 1000.0);
        visible_around(&grid, &players, center, None, (300.0, &[]), &mut out);
        assert_eq!(out, [0, 1], "both within 300 units of the camera");
        let far = Vec2::new(3000.0, 2500.0);
        visible_around(&grid, &players, far, None, (300.0, &[]), &mut out);
        assert!(out.is_empty(), "500 units from the nearest: nobody, and no self");
        visible_around(&grid, &players, far, None, (300.0, &ids(&[3])), &mut out);
        assert!(out.is_empty(), "beyond the hysteresis margin too");
        let edge = Vec2::new(3000.0, 2670.0);
        visible_around(&grid, &players, edge, None, (300.0, &ids(&[3])), &mut out);
        assert_eq!(out, [2], "330 units: kept when seen before (limit 345)");
    }

    #[test]
    fn edges_and_corners_of_the_map_are_covered() {
        let (grid, players) =
            world(&[(1, 0.0, 0.0), (2, 300.0, 300.0), (3, 4000.0, 4000.0), (4, 3700.0, 3990.0)]);
        assert_eq!(visible_set(&grid, &players, 0, 800.0, &[]), ids(&[1, 2]));
        assert_eq!(visible_set(&grid, &players, 2, 800.0, &[]), ids(&[3, 4]));
    }
}
