-- Prepended by the loader (stockkeeper/scripts/loader.py, registry.py) to every stock script:
-- helpers shared by the operations. No KEYS or ARGV of its own; each function takes its keys.

-- Redis's own clock, so every server process judges deadlines and windows alike.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The answer to a retried press whose idempotency key made `hold_id`: that same hold as it
-- is now (paid, lapsed or cancelled since: its status says which), in hold_reserve.lua's
-- 'reserved' shape with replayed = 1. Hold hashes are never deleted, so it is always there.
local function replay(hold_prefix, hold_id, available)
  local h = redis.call('HMGET', hold_prefix .. hold_id, 'quantity', 'reserved_at', 'deadline',
    'status')
  return {'reserved', hold_id, tonumber(h[1]), tonumber(h[2]), tonumber(h[3]), available, 1, h[4]}
end

-- Give a hold's units back to the offer and to the buyer's allowance; the caller marks the
-- hold's new status. Returns the offer's new available count.
local function release(offer_key, users_key, deadlines_key, hold_id, user_id, quantity)
  redis.call('HINCRBY', offer_key, 'held', -quantity)
  redis.call('ZREM', deadlines_key, hold_id)
  if redis.call('HINCRBY', users_key, user_id, -quantity) <= 0 then
    redis.call('HDEL', users_key, user_id)
  end
  return redis.call('HINCRBY', offer_key, 'available', quantity)
end

-- Group buying (stockkeeper/groups.py): a member whose hold lapses or is given up before
-- the group forms leaves it, so a seat is always backed by a live hold. The group's keys are
-- built from the offer's prefix (hold keys' prefix without 'hold:'), as groups.py's
-- GroupKeys names them; they share the hold's hash tag and slot.
local function group_leave(hold_prefix, user, group_id)
  local prefix = string.sub(hold_prefix, 1, -6)
  local group = prefix .. 'group:' .. group_id
  if redis.call('HGET', group, 'state') ~= 'forming' then return end
  if redis.call('ZREM', group .. ':members', user) == 0 then return end
  redis.call('HDEL', group .. ':seats', user, 'name:' .. user)
  redis.call('HINCRBY', group, 'members', -1)
  redis.call('HDEL', prefix .. 'groups:viewers', user)
  redis.call('SADD', prefix .. 'groups:changed', group_id)
end

-- A group member's paid unit becomes an order (the group formed): counted sold, and its
-- order_confirmed entry appended to the offer's outbox in the same step. The caller has
-- already taken the unit out of 'held' (or out of 'available' for a late payment).
-- compare_at_price is the offer's own, else its regular price (what one pays alone).
local function group_order(offer_key, outbox_key, buyers_key, hold_key, hold_id, offer_id,
                           payment_ref, now)
  local o = redis.call('HMGET', offer_key, 'sku', 'room_id', 'currency', 'unit_price',
    'compare_at_price')
  local h = redis.call('HMGET', hold_key, 'user_id', 'reserved_at', 'price', 'group_id',
    'quantity')
  local order_id = 'o' .. hold_id
  redis.call('HINCRBY', offer_key, 'sold', h[5])
  redis.call('HINCRBY', offer_key, 'orders', 1)
  redis.call('SADD', buyers_key, h[1])
  redis.call('HSET', hold_key, 'status', 'confirmed', 'order_id', order_id,
    'payment_ref', payment_ref, 'confirmed_at', now)
  redis.call('XADD', outbox_key, '*', 'type', 'order_confirmed', 'kind', 'purchase',
    'order_id', order_id, 'hold_id', hold_id, 'offer_id', offer_id, 'group_id', h[4],
    'room_id', o[2], 'sku', o[1], 'user_id', h[1], 'quantity', h[5], 'unit_price', h[3],
    'compare_at_price', o[5] or o[4], 'amount', tonumber(h[3]) * tonumber(h[5]),
    'currency', o[3], 'reserved_at', h[2], 'confirmed_at', now, 'payment_ref', payment_ref)
  return order_id
end

-- Release up to `limit` holds whose deadline has passed. Each leaves the deadline index and
-- changes status in the same step, so it is released at most once whoever calls this.
-- Returns holds expired, units returned, and a flat list of hold id, user id per hold.
local function expire_due(offer_key, users_key, deadlines_key, hold_prefix, now, limit)
  local due = redis.call('ZRANGEBYSCORE', deadlines_key, '-inf', now, 'LIMIT', 0, limit)
  local expired, units, released = 0, 0, {}
  for _, hold_id in ipairs(due) do
    local hold_key = hold_prefix .. hold_id
    local h = redis.call('HMGET', hold_key, 'status', 'user_id', 'quantity', 'group_id')
    if h[1] == 'held' then
      local quantity = tonumber(h[3])
      release(offer_key, users_key, deadlines_key, hold_id, h[2], quantity)
      redis.call('HSET', hold_key, 'status', 'expired')
      if h[4] then group_leave(hold_prefix, h[2], h[4]) end
      expired = expired + 1
      units = units + quantity
      released[#released + 1] = hold_id
      released[#released + 1] = h[2]
    else
      redis.call('ZREM', deadlines_key, hold_id)
    end
  end
  return expired, units, released
end
