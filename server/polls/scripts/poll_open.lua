-- Start a draft poll: votes are taken from now until now + its window.
-- KEYS[1] poll hash
-- Returns {'opened', opens_at_ms, closes_at_ms}, {'unknown_poll'} or {'invalid_state', state}.
local poll = redis.call('HMGET', KEYS[1], 'state', 'window_s')
if not poll[1] then return {'unknown_poll'} end
if poll[1] ~= 'draft' then return {'invalid_state', poll[1]} end
local now = redis.call('TIME')
local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local closes = at + tonumber(poll[2]) * 1000
redis.call('HSET', KEYS[1], 'state', 'open', 'opens_at', at, 'closes_at', closes)
return {'opened', at, closes}
