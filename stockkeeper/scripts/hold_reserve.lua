-- Reserve units of an offer for one buyer: a hold that must be paid before its deadline.
-- Every check and every write happens here, in one step, so stock cannot go negative, a
-- buyer cannot pass the per-user limit, and a retried request cannot take a second unit.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- KEYS[4] the new hold's hash   KEYS[5] idempotency key of (user, request key)
-- ARGV[1] user id   ARGV[2] quantity (>= 1)   ARGV[3] new hold id
-- ARGV[4] idempotency key lifetime (seconds)
-- ARGV[5] hold key prefix (to read replayed holds and take back overdue ones)
-- Returns one of:
--   {'reserved', hold_id, quantity, reserved_at, deadline, available, replayed (0|1), status}
--   {'sold_out', available}   {'limit_reached', units_already_held_or_bought, limit, available}
--   {'not_open', opens_at}         {'paused'}   {'closed'}   {'unknown_offer'}
local user, quantity = ARGV[1], tonumber(ARGV[2])

-- A retry of a request that already reserved gets that same hold back, whatever happened
-- since (it may have been paid or have expired: status says which).
local prior = redis.call('GET', KEYS[5])
if prior then
  local h = redis.call('HMGET', ARGV[5] .. prior, 'quantity', 'reserved_at', 'deadline', 'status')
  local available = tonumber(redis.call('HGET', KEYS[1], 'available'))
  return {'reserved', prior, tonumber(h[1]), tonumber(h[2]), tonumber(h[3]), available, 1, h[4]}
end

local o = redis.call('HMGET', KEYS[1],
  'state', 'opens_at', 'closes_at', 'available', 'per_user_limit', 'hold_ms')
local state = o[1]
if not state then return {'unknown_offer'} end
if state == 'closed' then return {'closed'} end
if state == 'paused' then return {'paused'} end
local now = now_ms()
local opens_at, closes_at = tonumber(o[2]), tonumber(o[3])
-- Checked before stock is touched: a press before the countdown ends takes nothing.
if state == 'draft' or now < opens_at then return {'not_open', opens_at} end
if now >= closes_at then return {'closed'} end

local limit = tonumber(o[5])
local have = tonumber(redis.call('HGET', KEYS[2], user) or '0')
local available = tonumber(o[4])
if have + quantity > limit then return {'limit_reached', have, limit, available} end

if available < quantity then
  -- Overdue holds the sweeper has not reached yet are stock: take them back first, so
  -- "sold out" is only ever said when it is true.
  local _, returned = expire_due(KEYS[1], KEYS[2], KEYS[3], ARGV[5], now, 100)
  if returned > 0 then
    available = tonumber(redis.call('HGET', KEYS[1], 'available'))
    -- The buyer's own lapsed hold no longer counts against the limit.
    have = tonumber(redis.call('HGET', KEYS[2], user) or '0')
    if have + quantity > limit then return {'limit_reached', have, limit, available} end
  end
  if available < quantity then return {'sold_out', available} end
end

available = redis.call('HINCRBY', KEYS[1], 'available', -quantity)
redis.call('HINCRBY', KEYS[1], 'held', quantity)
redis.call('HINCRBY', KEYS[2], user, quantity)
local deadline = now + tonumber(o[6])
redis.call('HSET', KEYS[4], 'user_id', user, 'quantity', quantity, 'status', 'held',
  'reserved_at', now, 'deadline', deadline)
redis.call('ZADD', KEYS[3], deadline, ARGV[3])
redis.call('SET', KEYS[5], ARGV[3], 'EX', ARGV[4])
return {'reserved', ARGV[3], quantity, now, deadline, available, 0, 'held'}
