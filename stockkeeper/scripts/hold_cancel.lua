-- The buyer gives a hold up; its units go straight back to stock.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- KEYS[4] hold hash
-- ARGV[1] user id   ARGV[2] hold id
-- Returns {'cancelled', available}, {'expired'}, {'already_confirmed', order_id}
-- or {'unknown_hold'}. Cancelling twice answers 'cancelled' again and returns nothing twice.
local h = redis.call('HMGET', KEYS[4], 'user_id', 'quantity', 'status', 'deadline', 'order_id')
if not h[1] or h[1] ~= ARGV[1] then return {'unknown_hold'} end
local status = h[3]
local available = tonumber(redis.call('HGET', KEYS[1], 'available'))
if status == 'confirmed' then return {'already_confirmed', h[5]} end
if status == 'cancelled' then return {'cancelled', available} end
if status == 'expired' then return {'expired'} end
local next_status = 'cancelled'
if now_ms() >= tonumber(h[4]) then next_status = 'expired' end
available = release(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[1], tonumber(h[2]))
redis.call('HSET', KEYS[4], 'status', next_status)
if next_status == 'expired' then return {'expired'} end
return {'cancelled', available}
