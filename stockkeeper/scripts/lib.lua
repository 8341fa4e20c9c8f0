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

-- Release up to `limit` holds whose deadline has passed. Each leaves the deadline index and
-- changes status in the same step, so it is released at most once whoever calls this.
-- Returns holds expired, units returned, and a flat list of hold id, user id per hold.
local function expire_due(offer_key, users_key, deadlines_key, hold_prefix, now, limit)
  local due = redis.call('ZRANGEBYSCORE', deadlines_key, '-inf', now, 'LIMIT', 0, limit)
  local expired, units, released = 0, 0, {}
  for _, hold_id in ipairs(due) do
    local hold_key = hold_prefix .. hold_id
    local h = redis.call('HMGET', hold_key, 'status', 'user_id', 'quantity')
    if h[1] == 'held' then
      local quantity = tonumber(h[3])
      release(offer_key, users_key, deadlines_key, hold_id, h[2], quantity)
      redis.call('HSET', hold_key, 'status', 'expired')
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
