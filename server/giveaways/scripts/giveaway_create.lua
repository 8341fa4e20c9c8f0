-- Create a draft giveaway, once.
-- KEYS[1] giveaway hash
-- ARGV    field, value, field, value... (id, room, prize, rule, window...)
-- Returns {'created', created_at} or {'exists'} (the id was taken: nothing was written).
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local now = now_ms()
redis.call('HSET', KEYS[1], 'state', 'draft', 'created_at', now, 'round', -1, unpack(ARGV))
return {'created', now}
