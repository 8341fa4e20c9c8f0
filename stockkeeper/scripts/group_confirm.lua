-- Pay a group member's hold (hold_confirm.lua's counterpart for groups). While the group
-- forms the hold becomes 'paid': its unit stays held, out of the deadline index, and NO
-- outbox entry is written (group_join.lua writes it if the group forms; group_fail.lua
-- writes a refund_due if it fails). Once the group formed, the payment becomes an order here,
-- with its outbox entry, in the same step.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- KEYS[4] hold hash    KEYS[5] outbox stream   KEYS[6] buyers set
-- ARGV[1] user id   ARGV[2] payment reference   ARGV[3] offer id   ARGV[4] hold id
-- ARGV[5] the offer's key prefix "ls:{offer:ID}:" (the hold's group is built from it and the
--         hold's group_id: same hash tag, same slot)
-- Returns one of:
--   {'confirmed', order_id, amount, confirmed_at, replayed (0|1), late (0|1), room_id, group}
--   {'paid', order_id, amount, paid_at, replayed (0|1), room_id, group}   waiting to form
--   {'group_failed', room_id, group}   the group failed: this payment is owed back
--   {'hold_expired', room_id, group}   lapsed and no unit to take again: owed back
--   {'already_confirmed', order_id, group}   paid before with another reference: owed back
--   {'unknown_hold'}
local user, payment_ref, offer_id, hold_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local h = redis.call('HMGET', KEYS[4], 'user_id', 'status', 'deadline', 'order_id',
  'payment_ref', 'confirmed_at', 'group_id', 'price', 'paid_at')
if not h[1] or h[1] ~= user or not h[7] then return {'unknown_hold'} end
local status, group_id, price = h[2], h[7], tonumber(h[8])
local group = ARGV[5] .. 'group:' .. group_id
local o = redis.call('HMGET', KEYS[1], 'sku', 'room_id', 'currency', 'per_user_limit')

local function refund_due(reason, order_id)
  if redis.call('HSETNX', KEYS[4], 'refund:' .. payment_ref, reason) == 1 then
    redis.call('XADD', KEYS[5], '*', 'type', 'refund_due', 'reason', reason,
      'hold_id', hold_id, 'order_id', order_id, 'offer_id', offer_id, 'room_id', o[2],
      'sku', o[1], 'user_id', user, 'quantity', 1, 'amount', price, 'currency', o[3],
      'payment_ref', payment_ref, 'created_at', now_ms(), 'group_id', group_id)
  end
end

if status == 'confirmed' or status == 'paid' then
  if h[5] == payment_ref then
    if status == 'paid' then
      return {'paid', h[4], price, tonumber(h[9]), 1, o[2], group_id}
    end
    return {'confirmed', h[4], price, tonumber(h[6]), 1, 0, o[2], group_id}
  end
  refund_due('duplicate_payment', h[4])
  return {'already_confirmed', h[4], group_id}
end
if status == 'refunded' then
  -- The group failed after this member paid: any payment of it is owed back.
  refund_due('group_failed', '')
  return {'group_failed', o[2], group_id}
end

local now = now_ms()
if status == 'held' and now >= tonumber(h[3]) then
  -- Lapsed but not swept yet: release it exactly as the sweeper would.
  release(KEYS[1], KEYS[2], KEYS[3], hold_id, user, 1)
  redis.call('HSET', KEYS[4], 'status', 'expired')
  group_leave(ARGV[5] .. 'hold:', user, group_id)
  status = 'expired'
end

local state = redis.call('HGET', group, 'state')
if status == 'held' then
  if state == 'forming' then
    local order_id = 'o' .. hold_id
    redis.call('HSET', KEYS[4], 'status', 'paid', 'payment_ref', payment_ref,
      'order_id', order_id, 'paid_at', now)
    redis.call('ZREM', KEYS[3], hold_id)
    redis.call('HINCRBY', group, 'paid', 1)
    return {'paid', order_id, price, now, 0, o[2], group_id}
  end
  if state ~= 'formed' then
    -- A failed group has no held holds left (group_fail.lua released them); were one
    -- found, its payment is owed back and never an order.
    refund_due('group_failed', '')
    return {'group_failed', o[2], group_id}
  end
  redis.call('HINCRBY', KEYS[1], 'held', -1)
  redis.call('ZREM', KEYS[3], hold_id)
  redis.call('HINCRBY', group, 'paid', 1)
  local order_id = group_order(KEYS[1], KEYS[5], KEYS[6], KEYS[4], hold_id, offer_id,
    payment_ref, now)
  return {'confirmed', order_id, price, now, 0, 0, o[2], group_id}
end

-- Expired or cancelled: the unit went back to stock. Only a formed group's member may take
-- it again, if it is still there and within the limit; otherwise the payment is owed back.
local owed = redis.call('HGET', KEYS[4], 'refund:' .. payment_ref)
if owed then
  -- A payment already declared owed back stays owed back (as in hold_confirm.lua).
  return {owed == 'group_failed' and 'group_failed' or 'hold_expired', o[2], group_id}
end
local available = tonumber(redis.call('HGET', KEYS[1], 'available'))
local have = tonumber(redis.call('HGET', KEYS[2], user) or '0')
if state ~= 'formed' or available < 1 or have + 1 > tonumber(o[4]) then
  if state == 'failed' then
    refund_due('group_failed', '')
    return {'group_failed', o[2], group_id}
  end
  refund_due('hold_expired', '')
  return {'hold_expired', o[2], group_id}
end
redis.call('HINCRBY', KEYS[1], 'available', -1)
redis.call('HINCRBY', KEYS[2], user, 1)
redis.call('HINCRBY', group, 'paid', 1)
local order_id = group_order(KEYS[1], KEYS[5], KEYS[6], KEYS[4], hold_id, offer_id,
  payment_ref, now)
return {'confirmed', order_id, price, now, 0, 1, o[2], group_id}
