-- Post a viewer's chat message if the room's rules allow it, and publish it in the same step.
-- KEYS[1] room events stream   KEYS[2] banned set   KEYS[3] muted set
-- KEYS[4] last chat per user hash   KEYS[5] room state hash   KEYS[6] chat per minute hash
-- ARGV[1] room channel   ARGV[2] history length to keep   ARGV[3] user id
-- ARGV[4] event data (msgpack)   ARGV[5] shortest interval between one user's messages (ms)
-- Returns {'posted', offset}, {'banned'}, {'muted'}, {'slow_mode', retry_after_ms}
-- or {'rate_limited', retry_after_ms}.
local user = ARGV[3]
if redis.call('SISMEMBER', KEYS[2], user) == 1 then return {'banned'} end
if redis.call('SISMEMBER', KEYS[3], user) == 1 then return {'muted'} end
local now = redis.call('TIME')
local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local last = tonumber(redis.call('HGET', KEYS[4], user) or '0')
local slow_ms = tonumber(redis.call('HGET', KEYS[5], 'slow_mode_s') or '0') * 1000
if slow_ms > 0 and at - last < slow_ms then
  return {'slow_mode', slow_ms - (at - last)}
end
local min_ms = tonumber(ARGV[5])
if at - last < min_ms then return {'rate_limited', min_ms - (at - last)} end
redis.call('HSET', KEYS[4], user, at)
redis.call('HINCRBY', KEYS[6], math.floor(at / 60000), 1)
local offset = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
  't', 'chat', 'd', ARGV[4], 'u', '', 'at', at)
redis.call('SPUBLISH', ARGV[1], cmsgpack.pack({offset, at, 'chat', '', ARGV[4]}))
return {'posted', offset}
