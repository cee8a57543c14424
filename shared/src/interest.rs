//! Interest management: which players each client is told about.
//!
//! A uniform grid over the map, rebuilt each send tick, answers "who is near this point" by
//! looking only at the cells a view circle covers. A player enters a client's view within the
//! view radius and leaves it only beyond [`HYSTERESIS`] times that radius, so players on the
//! edge do not flicker in and out (each flicker would cost a full entity in the delta).
//!
//! The query is the hottest loop of the send path (every member, every send tick): cells hold
//! positions beside indices; cells beyond the margin are skipped whole and the players of
//! cells wholly inside the radius are taken without being measured; the chosen indices are
//! gathered as bits, so they come out sorted without a sort; and while no one joins or leaves,
//! "seen before" is a bit test on the previous set's indices rather than a search of its ids
//! ([`Seen`]).

use glam::Vec2;

use crate::ids::PlayerId;

/// A visible player stays visible until this multiple of the view radius.
pub const HYSTERESIS: f32 = 1.15;

/// Each cell lists its players' indices with their positions, so a query measures candidates
/// without looking them up elsewhere.
#[derive(Debug, Clone)]
pub struct Grid {
    cell: f32,
    cols: usize,
    rows: usize,
    cells: Vec<Vec<(u32, Vec2)>>,
}

impl Grid {
    /// A grid over a `size` map with square cells of side `cell` (a fraction of the view
    /// radius: smaller cells mean fewer players measured, more cells visited).
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
        self.cells[row * self.cols + col].push((index, pos));
    }

    /// The cells within `reach` of `center`, each with whether all of it lies within `inside`
    /// of `center` (then every player listed there does, and need not be measured).
    fn cells_near(
        &self,
        center: Vec2,
        (reach, inside): (f32, f32),
    ) -> impl Iterator<Item = (&[(u32, Vec2)], bool)> + '_ {
        let (col0, row0) = self.cell_of(center - reach);
        let (col1, row1) = self.cell_of(center + reach);
        // A cell's span along one axis; the edge cells also hold whatever lies beyond the map.
        let span = move |index: usize, last: usize| {
            let low = if index == 0 { f32::NEG_INFINITY } else { index as f32 * self.cell };
            let high = if index == last { f32::INFINITY } else { (index + 1) as f32 * self.cell };
            (low, high)
        };
        let (reach_sq, inside_sq) = (reach * reach, inside * inside);
        (row0..=row1).flat_map(move |row| {
            let (top, bottom) = span(row, self.rows - 1);
            (col0..=col1).filter_map(move |col| {
                let (left, right) = span(col, self.cols - 1);
                let nearest = Vec2::new(center.x.clamp(left, right), center.y.clamp(top, bottom));
                if nearest.distance_squared(center) > reach_sq {
                    return None;
                }
                let far = Vec2::new(
                    (center.x - left).abs().max((right - center.x).abs()),
                    (center.y - top).abs().max((bottom - center.y).abs()),
                );
                let within = far.length_squared() <= inside_sq;
                Some((&self.cells[row * self.cols + col][..], within))
            })
        })
    }
}

/// Whom a viewer saw on its previous snapshot, to keep them within the hysteresis margin.
#[derive(Clone, Copy, Debug)]
pub enum Seen<'a> {
    /// Their ids, sorted.
    Ids(&'a [PlayerId]),
    /// Their indices in `players` as bits (bit `i % 64` of word `i / 64`): only when the room's
    /// players are the same, in the same order, as when the set was made. A test is one load
    /// rather than a binary search.
    Bits(&'a [u64]),
}

impl Seen<'_> {
    fn contains(self, index: u32, id: PlayerId) -> bool {
        match self {
            Seen::Ids(ids) => ids.binary_search(&id).is_ok(),
            Seen::Bits(words) => {
                words.get(index as usize / 64).is_some_and(|word| word >> (index % 64) & 1 == 1)
            }
        }
    }
}

/// `indices` (below `count`) as the bits of [`Seen::Bits`], into `words`.
pub fn index_bits(indices: &[u32], count: usize, words: &mut Vec<u64>) {
    words.clear();
    words.resize(count.div_ceil(64), 0);
    for &index in indices {
        words[index as usize / 64] |= 1 << (index % 64);
    }
}

/// Whom `viewer` sees: itself, everyone within `radius`, and those it saw before (`previous`)
/// still within `radius × HYSTERESIS`. `players` are (id, position) in id order,
/// indexed as in `grid`; the result is their indices, sorted (so in id order too), in `out`.
pub fn visible_set(
    grid: &Grid,
    players: &[(PlayerId, Vec2)],
    viewer: usize,
    radius: f32,
    previous: Seen<'_>,
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
    (radius, previous): (f32, Seen<'_>),
    out: &mut Vec<u32>,
) {
    let enter_sq = radius * radius;
    let stay_sq = enter_sq * HYSTERESIS * HYSTERESIS;
    // The chosen indices as bits, read back in increasing order: sorted without a sort.
    let mut chosen = [0u64; 64];
    let mut spill: Vec<u32> = Vec::new();
    let mut choose = |index: u32| match chosen.get_mut(index as usize / 64) {
        Some(word) => *word |= 1 << (index % 64),
        None => spill.push(index),
    };
    if let Some(Ok(index)) = me.map(|me| players.binary_search_by_key(&me, |(id, _)| *id)) {
        choose(index as u32);
    }
    for (cell, within) in grid.cells_near(center, (radius * HYSTERESIS, radius)) {
        for &(index, pos) in cell {
            if within {
                choose(index);
                continue;
            }
            let dist_sq = pos.distance_squared(center);
            if dist_sq <= enter_sq
                || (dist_sq <= stay_sq && previous.contains(index, players[index as usize].0))
            {
                choose(index);
            }
        }
    }
    out.clear();
    let words = players.len().div_ceil(64).min(chosen.len());
    for (word_index, &word) in chosen[..words].iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            out.push(word_index as u32 * 64 + bits.trailing_zeros());
            bits &= bits - 1;
        }
    }
    if !spill.is_empty() {
        // Rooms beyond 4,096 players: the rest are sorted the usual way.
        spill.sort_unstable();
        spill.dedup();
        out.extend(spill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(positions: &[(u32, f32, f32)]) -> (Grid, Vec<(PlayerId, Vec2)>) {
        world_in_cells(positions, 800.0)
    }

    fn world_in_cells(positions: &[(u32, f32, f32)], cell: f32) -> (Grid, Vec<(PlayerId, Vec2)>) {
        let mut grid = Grid::new(Vec2::new(4000.0, 4000.0), cell);
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
        super::visible_set(grid, players, viewer, radius, Seen::Ids(previous), &mut indices);
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
        visible_around(&grid, &players, center, None, (300.0, Seen::Ids(&[])), &mut out);
        assert_eq!(out, [0, 1], "both within 300 units of the camera");
        let far = Vec2::new(3000.0, 2500.0);
        visible_around(&grid, &players, far, None, (300.0, Seen::Ids(&[])), &mut out);
        assert!(out.is_empty(), "500 units from the nearest: nobody, and no self");
        visible_around(&grid, &players, far, None, (300.0, Seen::Ids(&ids(&[3]))), &mut out);
        assert!(out.is_empty(), "beyond the hysteresis margin too");
        let edge = Vec2::new(3000.0, 2670.0);
        visible_around(&grid, &players, edge, None, (300.0, Seen::Ids(&ids(&[3]))), &mut out);
        assert_eq!(out, [2], "330 units: kept when seen before (limit 345)");
    }

    #[test]
    fn edges_and_corners_of_the_map_are_covered() {
        let (grid, players) =
            world(&[(1, 0.0, 0.0), (2, 300.0, 300.0), (3, 4000.0, 4000.0), (4, 3700.0, 3990.0)]);
        assert_eq!(visible_set(&grid, &players, 0, 800.0, &[]), ids(&[1, 2]));
        assert_eq!(visible_set(&grid, &players, 2, 800.0, &[]), ids(&[3, 4]));
    }

    #[test]
    fn matches_measuring_everyone_in_small_and_huge_rooms() {
        // Cells of the radius (none wholly inside a view), of half and a fifth of it (many).
        for (count, cell) in [(300_u32, 800.0), (300, 400.0), (5_000, 800.0), (5_000, 160.0)] {
            let positions: Vec<_> = (0..count)
                .map(|i| {
                    let h = i.wrapping_mul(2_654_435_761);
                    (i * 3 + 1, (h % 4000) as f32, ((h >> 12) % 4000) as f32)
                })
                .collect();
            let (grid, players) = world_in_cells(&positions, cell);
            let previous: Vec<_> = players.iter().step_by(2).map(|(id, _)| *id).collect();
            for viewer in [0, 7, count as usize / 2, count as usize - 1] {
                let center = players[viewer].1;
                let expected: Vec<u32> = (0..count)
                    .filter(|&i| {
                        let (id, pos) = players[i as usize];
                        let d = pos.distance(center);
                        i as usize == viewer
                            || d <= 800.0
                            || (d <= 800.0 * HYSTERESIS && previous.binary_search(&id).is_ok())
                    })
                    .collect();
                let mut out = Vec::new();
                super::visible_set(&grid, &players, viewer, 800.0, Seen::Ids(&previous), &mut out);
                assert_eq!(out, expected, "{count} players, {cell} cells, viewer {viewer}, ids");
                let previous_indices: Vec<u32> = (0..count).step_by(2).collect();
                let mut bits = Vec::new();
                index_bits(&previous_indices, players.len(), &mut bits);
                super::visible_set(&grid, &players, viewer, 800.0, Seen::Bits(&bits), &mut out);
                assert_eq!(out, expected, "{count} players, {cell} cells, viewer {viewer}, bits");
            }
        }
    }
}
