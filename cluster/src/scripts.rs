//! The Lua scripts: each runs inside Redis as one step that no other client's command can
//! interleave with, and reads the time from Redis (`TIME`), so every process judges expiry by
//! one clock. Key names are built in the scripts from the prefix (`ARGV[1]`), so they suit a
//! single Redis server (or a primary with replicas), not Redis Cluster.
//!
//! Integers that go back to Redis are formatted with `%d`: Lua 5.1 numbers are doubles and
//! would otherwise be sent as `1.8e+12`, which `PX` refuses.

use std::sync::LazyLock;

use redis::Script;

/// Helpers every script starts with.
const PRELUDE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n)
  return string.format('%d', n)
end
local function keep_alive(key, ms)
  if redis.call('PTTL', key) < ms then
    redis.call('PEXPIRE', key, int(ms))
  end
end
"#;

/// A heartbeat. ARGV: prefix, process id, process JSON, ttl (ms), the number `n` of claimed
/// seats to release, `n` pairs `code, ticket`, then `code, room JSON` pairs.
///
/// 0. The claimed seats are released: their players are in the room counts this heartbeat
///    writes, so in the same atomic step a seat stops being held and starts being counted
///    (never both for long, never neither).
/// 1. Rooms the process listed last time and not now are deleted with their reservations (if
///    they are still its own), so a closed room leaves at once, not at expiry.
/// 2. Each listed room is written to expire at `now + ttl` (`PXAT`, the very instant its
///    index score names, so a key and its index entry lapse together), indexed in `rooms`,
///    and remembered in the process's room set.
/// 3. The process is written the same way and indexed in `processes`.
/// 4. Both indexes lose entries whose expiry has passed.
///
/// Returns how many rooms it wrote.
const PUBLISH: &str = r#"
local prefix, id, process, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local claims = tonumber(ARGV[5])
local first = 6 + 2 * claims
for i = 6, first - 1, 2 do
  redis.call('ZREM', prefix .. 'seats:' .. ARGV[i], ARGV[i + 1], 'claimed:' .. ARGV[i + 1])
end
local now = now_ms()
local expires = int(now + ttl)
local rooms_index = prefix .. 'rooms'
local processes_index = prefix .. 'processes'
local mine = prefix .. 'process-rooms:' .. id
local listed = {}
for i = first, #ARGV, 2 do
  listed[ARGV[i]] = true
end
for _, code in ipairs(redis.call('SMEMBERS', mine)) do
  if not listed[code] then
    local key = prefix .. 'room:' .. code
    local old = redis.call('GET', key)
    local owned = true
    if old then
      local ok, entry = pcall(cjson.decode, old)
      owned = ok and type(entry) == 'table' and entry.process == id
    end
    if owned then
      redis.call('DEL', key, prefix .. 'seats:' .. code)
      redis.call('ZREM', rooms_index, code)
    end
  end
end
redis.call('DEL', mine)
for i = first, #ARGV, 2 do
  redis.call('SET', prefix .. 'room:' .. ARGV[i], ARGV[i + 1], 'PXAT', expires)
  redis.call('ZADD', rooms_index, expires, ARGV[i])
  redis.call('SADD', mine, ARGV[i])
end
if #ARGV >= first then
  redis.call('PEXPIREAT', mine, expires)
end
redis.call('SET', prefix .. 'process:' .. id, process, 'PXAT', expires)
redis.call('ZADD', processes_index, expires, id)
redis.call('ZREMRANGEBYSCORE', processes_index, '-inf', int(now))
redis.call('ZREMRANGEBYSCORE', rooms_index, '-inf', int(now))
return (#ARGV - first + 1) / 2
"#;

/// The live processes and (if ARGV[3] is `1`) rooms, each room with its count of live
/// reservations and claims. ARGV: prefix, the most processes, `1` or `0`, the most rooms.
/// Read-only: entries whose expiry has passed are skipped, not deleted.
///
/// Returns `{process JSONs, room JSONs, reserved counts}` (the last two in step).
const LISTING: &str = r#"
local prefix, most_processes, want_rooms, most_rooms = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4]
local now = now_ms()
local live = int(now + 1)
local processes = {}
local ids =
  redis.call('ZRANGEBYSCORE', prefix .. 'processes', live, '+inf', 'LIMIT', 0, most_processes)
for _, id in ipairs(ids) do
  local value = redis.call('GET', prefix .. 'process:' .. id)
  if value then
    processes[#processes + 1] = value
  end
end
local rooms, reserved = {}, {}
if want_rooms then
  local codes =
    redis.call('ZRANGEBYSCORE', prefix .. 'rooms', live, '+inf', 'LIMIT', 0, most_rooms)
  for _, code in ipairs(codes) do
    local value = redis.call('GET', prefix .. 'room:' .. code)
    if value then
      rooms[#rooms + 1] = value
      reserved[#reserved + 1] = redis.call('ZCOUNT', prefix .. 'seats:' .. code, live, '+inf')
    end
  end
end
return {processes, rooms, reserved}
"#;

/// A seat. ARGV: prefix, room code, holder, new ticket, ttl (ms), claim hold (ms).
///
/// 1. No live room with that code: `-1`.
/// 2. The holder's previous reservation (in any room) is given back.
/// 3. Expired reservations and claims of this room are dropped.
/// 4. Published players + live reservations + claims ≥ capacity: `0`.
/// 5. The ticket is added, scored by its expiry, and becomes the holder's: `1`.
const RESERVE: &str = r#"
local prefix, code, holder, ticket = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, hold = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_ms()
local value = redis.call('GET', prefix .. 'room:' .. code)
if not value then
  return -1
end
local ok, room = pcall(cjson.decode, value)
if not ok or type(room) ~= 'table' then
  return redis.error_reply('unreadable room entry ' .. code)
end
local holder_key = prefix .. 'holder:' .. holder
local previous = redis.call('GET', holder_key)
if previous then
  local space = string.find(previous, ' ', 1, true)
  if space then
    local old_ticket = string.sub(previous, 1, space - 1)
    local old_room = string.sub(previous, space + 1)
    redis.call('ZREM', prefix .. 'seats:' .. old_room, old_ticket)
  end
  redis.call('DEL', holder_key)
end
local seats = prefix .. 'seats:' .. code
redis.call('ZREMRANGEBYSCORE', seats, '-inf', int(now))
local taken = (tonumber(room.players) or 0) + redis.call('ZCARD', seats)
if taken >= (tonumber(room.capacity) or 0) then
  return 0
end
redis.call('ZADD', seats, int(now + ttl), ticket)
keep_alive(seats, math.max(ttl, hold))
redis.call('SET', holder_key, ticket .. ' ' .. code, 'PX', ARGV[5])
return 1
"#;

/// A ticket presented at the socket. ARGV: prefix, room code, ticket, hold (ms).
///
/// A live ticket becomes `claimed:<ticket>`, held for `hold` (until released), and `1` is
/// returned; an unknown, expired or already claimed ticket gives `0`, so a ticket works once.
const CLAIM: &str = r#"
local prefix, code, ticket, hold = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = now_ms()
local seats = prefix .. 'seats:' .. code
local expires = redis.call('ZSCORE', seats, ticket)
if not expires or tonumber(expires) <= now then
  return 0
end
redis.call('ZREM', seats, ticket)
redis.call('ZADD', seats, int(now + hold), 'claimed:' .. ticket)
keep_alive(seats, hold)
return 1
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

pub(crate) static PUBLISH_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(PUBLISH));
pub(crate) static LISTING_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(LISTING));
pub(crate) static RESERVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(RESERVE));
pub(crate) static CLAIM_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(CLAIM));

/// The member a claimed ticket becomes in its room's `seats` set.
pub(crate) fn claimed(ticket: &str) -> String {
    format!("claimed:{ticket}")
}
