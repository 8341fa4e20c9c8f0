-- Step 3 of paying with a coupon or credit: end a lock as its hold's slot decided
-- (hold_benefit_fate.lua): spend what the order used, or give the item back.
-- KEYS[1] activity info   KEYS[2] item hash   KEYS[3] locks zset   KEYS[4] lock owners hash
-- ARGV[1] lock token   ARGV[2] 'used' or 'unused'   ARGV[3] amount the order used
-- ARGV[4] hold id   ARGV[5] order id
-- Returns {'spent', balance left} | {'released'} | {'stale'} (this lock was settled before).
local token = ARGV[1]
redis.call('ZREM', KEYS[3], token)
redis.call('HDEL', KEYS[4], token)
local it = redis.call('HMGET', KEYS[2], 'lock_token', 'kind', 'balance')
if it[1] ~= token then return {'stale'} end
redis.call('HDEL', KEYS[2], 'lock_token', 'lock_hold')
local used = tonumber(ARGV[3])
if ARGV[2] ~= 'used' or (it[2] == 'credit' and used <= 0) then
  redis.call('HSET', KEYS[2], 'status', 'active')
  return {'released'}
end
redis.call('HINCRBY', KEYS[1], 'spent', 1)
redis.call('HINCRBY', KEYS[1], 'spent_amount', used)
if it[2] == 'credit' then
  local left = redis.call('HINCRBY', KEYS[2], 'balance', -used)
  redis.call('HSET', KEYS[2], 'status', left > 0 and 'active' or 'spent', 'spent_hold',
    ARGV[4], 'spent_order', ARGV[5])
  return {'spent', left}
end
redis.call('HSET', KEYS[2], 'status', 'spent', 'spent_hold', ARGV[4], 'spent_order', ARGV[5],
  'used', used)
return {'spent', 0}
