-- Prepended by the loader (server/coupons/coupon_scripts.py) to every coupon script.
-- No KEYS or ARGV of its own.

-- Redis's own clock, so every server process judges windows, expiry and leases alike.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Whether an activity takes claims now: 'ok', or why not ('not_live', 'window_over').
local function takes_claims(info_key, now)
  local a = redis.call('HMGET', info_key, 'status', 'ends_at')
  if a[1] == 'ended' then return 'window_over' end
  if a[1] ~= 'live' then return 'not_live' end
  if now >= tonumber(a[2]) then return 'window_over' end
  return 'ok'
end

-- Record a new item of `user` (a coupon or a packet) and index it among the user's items.
local function new_item(item_prefix, mine_key, claims_key, idem_key, idem_field, user, item_id,
  fields)
  redis.call('HSET', item_prefix .. item_id, 'owner', user, 'status', 'active', unpack(fields))
  local had = redis.call('HGET', mine_key, user)
  redis.call('HSET', mine_key, user, had and (had .. ' ' .. item_id) or item_id)
  redis.call('HINCRBY', claims_key, user, 1)
  redis.call('HSET', idem_key, idem_field, item_id)
end
