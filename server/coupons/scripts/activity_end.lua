-- End a drop or a rain now (the host), or because its window is over (the repairer). Only the
-- call that ends it answers changed = 1, so its 'ended' event is published once.
-- KEYS[1] info hash
-- Returns {'ended', changed (0|1)} or {'unknown'}.
local a = redis.call('HMGET', KEYS[1], 'status', 'ends_at')
if not a[1] then return {'unknown'} end
if a[1] == 'ended' then return {'ended', 0} end
local now = now_ms()
local ends = now
if a[2] and tonumber(a[2]) < now then ends = tonumber(a[2]) end
redis.call('HSET', KEYS[1], 'status', 'ended', 'ends_at', ends)
return {'ended', 1}
