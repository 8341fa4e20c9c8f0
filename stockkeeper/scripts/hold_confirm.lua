-- Turn a paid hold into a confirmed order and, in the same step, append the order to the
-- offer's outbox stream: no confirmed order can exist without its outbox entry.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- KEYS[4] hold hash    KEYS[5] outbox stream   KEYS[6] buyers set (for the show's report)
-- ARGV[1] user id   ARGV[2] payment reference   ARGV[3] order id   ARGV[4] offer id
-- ARGV[5] hold id   ARGV[6] '1' when the offer is split in buckets and the caller can move
--         units into this one: a late payment short of stock then answers 'short' instead
--         of owing the money back, and is sent again once units have been moved
-- ARGV[7..12] a coupon locked for this hold (server/coupons, docs/coupons.md), or absent:
--         lock token ('' = no coupon), coupon id, 'amount' | 'percent', value, minimum
--         spend, the one offer it is for ('' = any offer of the show)
-- ARGV[13..] pairs of (lock token, balance) of store credit locked for this hold
-- Returns one of:
--   {'confirmed', order_id, quantity, amount, confirmed_at, replayed (0|1), late (0|1),
--    room_id}
--   {'hold_expired', quantity, room_id}   the hold lapsed and no unit could be taken again: the
--                                payment is owed back (a refund_due entry is in the outbox)
--   {'already_confirmed', order_id}   paid before with another payment reference: this
--                                     second payment is owed back (refund_due entry)
--   {'short', quantity}   (only with ARGV[6] = '1') no order and no refund was written
--   {'lock_lost', token}   a coupon or credit lock was given up (fenced) before this payment
--                          reached the hold: nothing was written; lock again and retry
--   {'benefit_refused', reason ('wrong_offer' | 'min_spend'), minimum spend}: nothing written
--   {'unknown_hold'}
-- A 'confirmed' answer ends with discount, credit, coupon_id ('' = none): the order's
-- amount is quantity x unit_price - discount - credit.
local user, payment_ref, hold_id = ARGV[1], ARGV[2], ARGV[5]
local h = redis.call('HMGET', KEYS[4], 'user_id', 'quantity', 'status', 'deadline',
  'order_id', 'payment_ref', 'reserved_at', 'confirmed_at', 'paid', 'discount', 'credit',
  'coupon_id')
-- Somebody else's hold answers exactly like a missing one: hold ids leak nothing.
if not h[1] or h[1] ~= user then return {'unknown_hold'} end
local quantity, status = tonumber(h[2]), h[3]
local o = redis.call('HMGET', KEYS[1], 'sku', 'room_id', 'unit_price', 'currency',
  'per_user_limit', 'available', 'compare_at_price')
local subtotal = tonumber(o[3]) * quantity

-- What a coupon and store credit take off, booked with the order below. `uses` lists each
-- lock token with the amount it gave, kept on the hold for hold_benefit_fate.lua.
local discount, credit, coupon_id, uses, refused = 0, 0, '', {}, nil
if (ARGV[7] or '') ~= '' then
  coupon_id = ARGV[8]
  if ARGV[12] ~= '' and ARGV[12] ~= ARGV[4] then
    refused = {'benefit_refused', 'wrong_offer', 0}
  elseif subtotal < tonumber(ARGV[11]) then
    refused = {'benefit_refused', 'min_spend', tonumber(ARGV[11])}
  elseif ARGV[9] == 'percent' then
    discount = math.floor(subtotal * tonumber(ARGV[10]) / 100)
  else
    discount = math.min(tonumber(ARGV[10]), subtotal)
  end
  uses[#uses + 1] = ARGV[7]
  uses[#uses + 1] = discount
end
for i = 13, #ARGV - 1, 2 do
  local use = math.min(tonumber(ARGV[i + 1]), subtotal - discount - credit)
  credit = credit + use
  uses[#uses + 1] = ARGV[i]
  uses[#uses + 1] = use
end
local amount = subtotal - discount - credit

-- The refund event is written once per payment reference, however often it is retried.
local function refund_due(reason, order_id)
  if redis.call('HSETNX', KEYS[4], 'refund:' .. payment_ref, reason) == 1 then
    redis.call('XADD', KEYS[5], '*', 'type', 'refund_due', 'reason', reason,
      'hold_id', hold_id, 'order_id', order_id, 'offer_id', ARGV[4], 'room_id', o[2],
      'sku', o[1], 'user_id', user, 'quantity', quantity, 'amount', amount,
      'currency', o[4], 'payment_ref', payment_ref, 'created_at', now_ms())
  end
end

if status == 'confirmed' then
  if h[6] == payment_ref then
    return {'confirmed', h[5], quantity, tonumber(h[9] or subtotal), tonumber(h[8]), 1, 0, o[2],
      tonumber(h[10] or '0'), tonumber(h[11] or '0'), h[12] or ''}
  end
  refund_due('duplicate_payment', h[5])
  return {'already_confirmed', h[5]}
end

if refused then return refused end
-- A lock given up (fenced) since it was taken may already be another hold's: never book it.
for i = 1, #uses, 2 do
  if redis.call('HEXISTS', KEYS[4], 'fence:' .. uses[i]) == 1 then
    return {'lock_lost', uses[i]}
  end
end

local now = now_ms()
if status == 'held' and now >= tonumber(h[4]) then
  -- Lapsed but not swept yet: release it exactly as the sweeper would, then treat the
  -- payment as late.
  release(KEYS[1], KEYS[2], KEYS[3], hold_id, user, quantity)
  redis.call('HSET', KEYS[4], 'status', 'expired')
  status = 'expired'
end

local late = 0
if status == 'held' then
  redis.call('HINCRBY', KEYS[1], 'held', -quantity)
  redis.call('ZREM', KEYS[3], hold_id)
else
  -- Expired or cancelled: the units went back to stock and may have been resold. Only take
  -- them again if they are still there, or this payment would oversell.
  -- A payment already declared owed back stays owed back: a retry of it finding units
  -- returned since must not also become an order (goods and money both).
  if redis.call('HEXISTS', KEYS[4], 'refund:' .. payment_ref) == 1 then
    return {'hold_expired', quantity, o[2]}
  end
  local available = tonumber(redis.call('HGET', KEYS[1], 'available'))
  local have = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  local within_limit = have + quantity <= tonumber(o[5])
  if available < quantity and within_limit and ARGV[6] == '1' then
    return {'short', quantity}
  end
  if available < quantity or not within_limit then
    refund_due('hold_expired', '')
    return {'hold_expired', quantity, o[2]}
  end
  redis.call('HINCRBY', KEYS[1], 'available', -quantity)
  redis.call('HINCRBY', KEYS[2], user, quantity)
  late = 1
end
redis.call('HINCRBY', KEYS[1], 'sold', quantity)
redis.call('HINCRBY', KEYS[1], 'orders', 1)
redis.call('SADD', KEYS[6], user)

local order_id = ARGV[3]
redis.call('HSET', KEYS[4], 'status', 'confirmed', 'order_id', order_id,
  'payment_ref', payment_ref, 'confirmed_at', now, 'paid', amount, 'discount', discount,
  'credit', credit, 'coupon_id', coupon_id)
for i = 1, #uses, 2 do
  redis.call('HSET', KEYS[4], 'benefit:' .. uses[i], uses[i + 1])
end
redis.call('XADD', KEYS[5], '*', 'type', 'order_confirmed', 'kind', 'purchase',
  'order_id', order_id, 'hold_id', hold_id, 'offer_id', ARGV[4], 'room_id', o[2], 'sku', o[1],
  'user_id', user, 'quantity', quantity, 'unit_price', o[3],
  'compare_at_price', o[7] or '', 'discount', discount, 'coupon_id', coupon_id,
  'credit', credit, 'amount', amount, 'currency', o[4],
  'reserved_at', h[7], 'confirmed_at', now, 'payment_ref', payment_ref)
return {'confirmed', order_id, quantity, amount, now, 0, late, o[2], discount, credit, coupon_id}
