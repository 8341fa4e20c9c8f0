-- Viewers claim coupons of a live drop, a batch of claims that arrived together, in arrival
-- order: quota and per-viewer cap are checked and taken in this one step, so the quota is
-- never exceeded and nobody claims past their cap. A single claim is a batch of one.
-- KEYS[1] drop info hash   KEYS[2] claims per user hash   KEYS[3] items per user hash
-- KEYS[4] idempotency hash
-- ARGV[1] item key prefix (items share the drop's hash tag)
-- ARGV[2] the claims as one msgpack array, each [user id, idempotency key, room id of the
--         request] (a drop is claimed only in its own show's room)
-- Returns one reply per claim, each one of:
--   {'claimed', coupon_id, replayed (0|1), claimed, quota}
--   {'not_live'} | {'window_over'} | {'exhausted', claimed, quota} | {'unknown'}
--   {'already_claimed', claims of this viewer, cap}
local d = redis.call('HMGET', KEYS[1], 'kind', 'claimed', 'quota', 'per_viewer', 'room_id', 'id')
local known = d[1] == 'drop'
local claimed, quota, cap = tonumber(d[2] or '0'), tonumber(d[3] or '0'), tonumber(d[4] or '0')
local now = now_ms()
local why = known and takes_claims(KEYS[1], now) or 'unknown'

local function claim(user, idem_field, room_id)
  if not known or room_id ~= d[5] then return {'unknown'} end
  -- A retry of a claim that succeeded answers the same coupon, whatever happened since.
  local earlier = redis.call('HGET', KEYS[4], idem_field)
  if earlier then return {'claimed', earlier, 1, claimed, quota} end
  if why ~= 'ok' then return {why} end
  local mine = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  if mine >= cap then return {'already_claimed', mine, cap} end
  if claimed >= quota then return {'exhausted', claimed, quota} end
  claimed = claimed + 1
  local coupon_id = d[6] .. '.' .. claimed
  new_item(ARGV[1], KEYS[3], KEYS[2], KEYS[4], idem_field, user, coupon_id,
    {'kind', 'coupon', 'claimed_at', now})
  return {'claimed', coupon_id, 0, claimed, quota}
end

local replies = {}
for _, c in ipairs(cmsgpack.unpack(ARGV[2])) do
  replies[#replies + 1] = claim(c[1], c[1] .. ':' .. c[2], c[3])
end
if known and claimed ~= tonumber(d[2]) then redis.call('HSET', KEYS[1], 'claimed', claimed) end
return replies
