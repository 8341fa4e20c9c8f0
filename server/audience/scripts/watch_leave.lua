-- A signed-in viewer closed a connection to a room. The last one marks when the viewer
-- left: the visit is counted up to then, unless the viewer is back within the gap.
-- KEYS[1] open hash     KEYS[2] started hash   KEYS[3] left hash
-- KEYS[4] done hash     KEYS[5] visits hash    (all of the room, one hash tag)
-- ARGV[1] user id       ARGV[2] now (epoch ms)
-- Returns {outcome, open connections}: 'still_watching' (other connections remain),
-- 'left' (the last one closed), or 'unknown' (no connection was counted: nothing changes).
local user, now = ARGV[1], ARGV[2]
local open = redis.call('HINCRBY', KEYS[1], user, -1)
if open > 0 then
  return {'still_watching', open}
end
redis.call('HDEL', KEYS[1], user)
if open < 0 or redis.call('HEXISTS', KEYS[2], user) == 0 then
  return {'unknown', 0}
end
redis.call('HSET', KEYS[3], user, now)
return {'left', 0}
