-- Step 1 of paying with a coupon or credit: lock the viewer's item for one hold, with a
-- lease. Only settle (item_settle.lua) ever ends a lock, after the hold's slot has fixed
-- whether the order used it (hold_benefit_fate.lua): docs/coupons.md.
-- KEYS[1] activity info   KEYS[2] item hash   KEYS[3] locks zset   KEYS[4] lock owners hash
-- ARGV[1] user id   ARGV[2] hold id   ARGV[3] new lock token   ARGV[4] lease ms
-- ARGV[5] room id of the hold's offer   ARGV[6] item id
-- Returns one of:
--   {'locked', token, kind, off_kind, off_value, min_spend, offer_id, balance}
--   {'in_use', other hold id, its token, lease_over (0|1)}
--   {'spent_here'} (spent by this hold's order)   {'spent'}   {'expired'}
--   {'other_show'}   {'unknown'} (no such item, or somebody else's)
local user, hold_id = ARGV[1], ARGV[2]
local it = redis.call('HMGET', KEYS[2], 'owner', 'kind', 'status', 'balance', 'lock_token',
  'lock_hold', 'spent_hold')
if not it[1] or it[1] ~= user then return {'unknown'} end
local a = redis.call('HMGET', KEYS[1], 'room_id', 'off_kind', 'off_value', 'min_spend',
  'offer_id', 'expires_at')
if a[1] ~= ARGV[5] then return {'other_show'} end
local now = now_ms()
local function terms(token)
  return {'locked', token, it[2], a[2] or '', tonumber(a[3] or '0'), tonumber(a[4] or '0'),
    a[5] or '', tonumber(it[4] or '0')}
end
if it[3] == 'spent' then
  if it[7] == hold_id then return {'spent_here'} end
  return {'spent'}
end
if it[3] == 'locked' then
  if it[6] == hold_id then
    -- The same payment again (a retry): the same lock, with its lease renewed.
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), it[5])
    return terms(it[5])
  end
  local lease = tonumber(redis.call('ZSCORE', KEYS[3], it[5]) or '0')
  return {'in_use', it[6], it[5], now >= lease and 1 or 0}
end
if a[6] and now >= tonumber(a[6]) then return {'expired'} end
local token = ARGV[3]
redis.call('HSET', KEYS[2], 'status', 'locked', 'lock_token', token, 'lock_hold', hold_id)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), token)
redis.call('HSET', KEYS[4], token, ARGV[6] .. ' ' .. hold_id)
return terms(token)
