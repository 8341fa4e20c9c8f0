-- Restock (positive delta) or pull stock (negative delta). Pulling only takes units that
-- are available, so stock never drops below what is held plus sold.
-- KEYS[1] offer hash
-- ARGV[1] delta
-- Returns {'ok', available, total}, {'unknown_offer'}, {'invalid_state', 'closed'}
-- or {'insufficient', available}.
local o = redis.call('HMGET', KEYS[1], 'state', 'available')
if not o[1] then return {'unknown_offer'} end
if o[1] == 'closed' then return {'invalid_state', 'closed'} end
local delta = tonumber(ARGV[1])
if delta < 0 and tonumber(o[2]) < -delta then return {'insufficient', tonumber(o[2])} end
local available = redis.call('HINCRBY', KEYS[1], 'available', delta)
local total = redis.call('HINCRBY', KEYS[1], 'total', delta)
return {'ok', available, total}
