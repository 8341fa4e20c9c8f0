-- Prepended by stockkeeper/scripts.py to every script: helpers shared by the operations.

-- Redis's own clock, so every server process judges deadlines and windows alike.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
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
