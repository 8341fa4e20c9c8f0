-- Start a drop or a rain: its claim window opens now (Redis clock) and, for a rain, the
-- packets split by the caller (double mean, docs/coupons.md) are laid out to be grabbed.
-- KEYS[1] info hash   KEYS[2] packets list (a rain's; unused for a drop)
-- ARGV[1..n] a rain's packet amounts, in the order they will be grabbed
-- Returns {'started', starts_at, ends_at, expires_at} or {'state', status}.
local a = redis.call('HMGET', KEYS[1], 'status', 'window_ms', 'valid_ms')
if a[1] ~= 'ready' then return {'state', a[1] or 'unknown'} end
local now = now_ms()
local ends, expires = now + tonumber(a[2]), now + tonumber(a[3])
redis.call('HSET', KEYS[1], 'status', 'live', 'starts_at', now, 'ends_at', ends,
  'expires_at', expires)
-- In slices: unpack() of thousands of values would overflow Lua's stack.
for first = 1, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, first, math.min(first + 999, #ARGV)))
end
return {'started', now, ends, expires}
