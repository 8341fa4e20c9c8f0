-- A signed-in viewer opened a connection to a room (on any server process).
-- The first connection starts a visit, or continues the last one when the viewer left it
-- less than the gap ago (a reconnect); later connections (a second tab) join the visit.
-- KEYS[1] open hash     KEYS[2] started hash   KEYS[3] left hash
-- KEYS[4] done hash     KEYS[5] visits hash    (all of the room, one hash tag)
-- ARGV[1] user id       ARGV[2] now (epoch ms) ARGV[3] gap (ms)
-- Returns {outcome, open connections}: outcome 'joined' (already watching), 'resumed'
-- (back within the gap: same visit), or 'visit' (a new visit began).
local user, now, gap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local open = redis.call('HINCRBY', KEYS[1], user, 1)
if open > 1 then
  return {'joined', open}
end
local left = redis.call('HGET', KEYS[3], user)
if left then
  redis.call('HDEL', KEYS[3], user)
  if now - tonumber(left) <= gap then
    return {'resumed', open}
  end
  -- Away longer than the gap: the last visit ended when the viewer left.
  local started = tonumber(redis.call('HGET', KEYS[2], user) or left)
  redis.call('HINCRBY', KEYS[4], user, math.max(0, tonumber(left) - started))
end
redis.call('HSET', KEYS[2], user, now)
redis.call('HINCRBY', KEYS[5], user, 1)
return {'visit', open}
