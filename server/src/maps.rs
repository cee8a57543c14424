//! The maps a room can run: every `*.json` map in the directory of `--map`, loaded and checked
//! once at start-up, so creating a room never touches the disk and a broken file stops the
//! server at once instead of the first time someone picks it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use shared::map::Map;

/// At most this many maps are loaded (the lobby lists them all).
const MAX_MAPS: usize = 32;

pub(crate) struct Maps {
    by_id: BTreeMap<String, Map>,
    default: String,
}

impl Maps {
    /// Loads `default` and every other map beside it.
    pub(crate) fn load(default: &Path) -> anyhow::Result<Maps> {
        let first = read(default)?;
        let mut by_id = BTreeMap::new();
        let dir =
            default.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("listing maps in {}", dir.display()))?;
        for entry in entries {
            let path = entry.with_context(|| format!("listing maps in {}", dir.display()))?.path();
            if path.extension().is_some_and(|ext| ext == "json") && by_id.len() < MAX_MAPS {
                let map = read(&path)?;
                by_id.insert(map.id.clone(), map);
            }
        }
        let default_id = first.id.clone();
        by_id.insert(first.id.clone(), first);
        Ok(Maps { by_id, default: default_id })
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Map> {
        self.by_id.get(id)
    }

    pub(crate) fn default_map(&self) -> &Map {
        &self.by_id[&self.default]
    }

    /// Map ids, the default first.
    pub(crate) fn ids(&self) -> Vec<&str> {
        let mut ids = vec![self.default.as_str()];
        ids.extend(self.by_id.keys().map(String::as_str).filter(|id| *id != self.default));
        ids
    }

    /// The map after `previous` in id order (quick play rotates maps as it opens rooms).
    pub(crate) fn next_after(&self, previous: &str) -> &Map {
        self.by_id
            .range::<str, _>((std::ops::Bound::Excluded(previous), std::ops::Bound::Unbounded))
            .next()
            .or_else(|| self.by_id.iter().next())
            .map(|(_, map)| map)
            .unwrap_or_else(|| self.default_map())
    }
}

fn read(path: &Path) -> anyhow::Result<Map> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading map file {}", path.display()))?;
    Map::from_json(&text).with_context(|| format!("loading map file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Maps {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/maps/arena.json");
        Maps::load(&root).expect("the shipped maps load")
    }

    #[test]
    fn loads_every_shipped_map_with_the_default_first() {
        let maps = shipped();
        assert_eq!(maps.ids(), ["arena", "corridors", "open"]);
        assert_eq!(maps.default_map().id, "arena");
        assert!(maps.get("corridors").is_some() && maps.get("nope").is_none());
    }

    #[test]
    fn rotation_visits_every_map() {
        let maps = shipped();
        let mut id = "arena".to_string();
        let mut seen = Vec::new();
        for _ in 0..3 {
            id = maps.next_after(&id).id.clone();
            seen.push(id.clone());
        }
        assert_eq!(seen, ["corridors", "open", "arena"]);
    }
}
