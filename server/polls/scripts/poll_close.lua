-- End a poll: early (the host ends it) or when its window has passed. Only the first call
-- that ends it answers 'closed', so one process tells the room.
-- KEYS[1] poll hash
-- ARGV[1] '1' to end it now, '0' only if its window has passed
-- Returns {'closed', closes_at_ms}, {'already', closes_at_ms}, {'still_open', closes_at_ms}
-- or {'unknown_poll'}.
local poll = redis.call('HMGET', KEYS[1], 'state', 'closes_at')
if not poll[1] then return {'unknown_poll'} end
if poll[1] == 'closed' then return {'already', tonumber(poll[2] or '0')} end
local now = redis.call('TIME')
local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local closes = tonumber(poll[2] or '0')
if ARGV[1] ~= '1' and (poll[1] ~= 'open' or at < closes) then
  return {'still_open', closes}
end
if poll[1] == 'draft' or at < closes then closes = at end
redis.call('HSET', KEYS[1], 'state', 'closed', 'closes_at', closes)
return {'closed', closes}
