-- A group member gives their hold up (hold_cancel.lua's counterpart for groups): the unit
-- goes back to stock and, while the group forms, the seat is freed too (lib.lua's
-- group_leave). A paid member cannot cancel: the payment waits for the group's outcome.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- KEYS[4] hold hash
-- ARGV[1] user id   ARGV[2] hold id   ARGV[3] hold key prefix "ls:{offer:ID}:hold:" (the
--         group's keys are built from it: same hash tag, same slot)
-- Returns {'cancelled', available}, {'expired'}, {'already_confirmed', order_id} (paid,
-- whether or not the group formed yet) or {'unknown_hold'}. Cancelling twice returns
-- nothing twice.
local h = redis.call('HMGET', KEYS[4], 'user_id', 'status', 'deadline', 'order_id', 'group_id')
if not h[1] or h[1] ~= ARGV[1] or not h[5] then return {'unknown_hold'} end
local status = h[2]
if status == 'confirmed' or status == 'paid' then return {'already_confirmed', h[4]} end
if status == 'cancelled' then
  return {'cancelled', tonumber(redis.call('HGET', KEYS[1], 'available'))}
end
if status ~= 'held' then return {'expired'} end
local next_status = 'cancelled'
if now_ms() >= tonumber(h[3]) then next_status = 'expired' end
local available = release(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[1], 1)
redis.call('HSET', KEYS[4], 'status', next_status)
group_leave(ARGV[3], ARGV[1], h[5])
if next_status == 'expired' then return {'expired'} end
return {'cancelled', available}
