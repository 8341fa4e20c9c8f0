-- Return the units of holds whose payment deadline has passed. Each hold is released at most
-- once: it leaves the deadline index and changes status in the same step, so any number of
-- sweepers may run at once.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- ARGV[1] hold key prefix   ARGV[2] most holds to release in this call
-- Returns {holds_expired, units_returned, available}.
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[2]))
local expired, units = 0, 0
for _, hold_id in ipairs(due) do
  local hold_key = ARGV[1] .. hold_id
  local h = redis.call('HMGET', hold_key, 'status', 'user_id', 'quantity')
  if h[1] == 'held' then
    local quantity = tonumber(h[3])
    release(KEYS[1], KEYS[2], KEYS[3], hold_id, h[2], quantity)
    redis.call('HSET', hold_key, 'status', 'expired')
    expired = expired + 1
    units = units + quantity
  else
    redis.call('ZREM', KEYS[3], hold_id)
  end
end
return {expired, units, tonumber(redis.call('HGET', KEYS[1], 'available'))}
