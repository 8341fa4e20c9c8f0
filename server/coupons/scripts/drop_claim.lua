-- A viewer claims a coupon of a live drop: quota and per-viewer cap are checked and taken in
-- this one step, so the quota is never exceeded and nobody claims past their cap.
-- KEYS[1] drop info hash   KEYS[2] claims per user hash   KEYS[3] items per user hash
-- KEYS[4] idempotency hash
-- ARGV[1] user id   ARGV[2] idempotency key   ARGV[3] item key prefix
-- Returns one of:
--   {'claimed', coupon_id, replayed (0|1), claimed, quota}
--   {'not_live'} | {'window_over'} | {'exhausted', claimed, quota} | {'unknown'}
--   {'already_claimed', claims of this viewer, cap}
local user, idem_field = ARGV[1], ARGV[1] .. ':' .. ARGV[2]
local d = redis.call('HMGET', KEYS[1], 'kind', 'claimed', 'quota', 'per_viewer')
if d[1] ~= 'drop' then return {'unknown'} end
local claimed, quota, cap = tonumber(d[2]), tonumber(d[3]), tonumber(d[4])
-- A retry of a claim that succeeded answers the same coupon, whatever happened since.
local earlier = redis.call('HGET', KEYS[4], idem_field)
if earlier then return {'claimed', earlier, 1, claimed, quota} end
local now = now_ms()
local why = takes_claims(KEYS[1], now)
if why ~= 'ok' then return {why} end
local mine = tonumber(redis.call('HGET', KEYS[2], user) or '0')
if mine >= cap then return {'already_claimed', mine, cap} end
if claimed >= quota then return {'exhausted', claimed, quota} end
claimed = redis.call('HINCRBY', KEYS[1], 'claimed', 1)
local coupon_id = redis.call('HGET', KEYS[1], 'id') .. '.' .. claimed
new_item(ARGV[3], KEYS[3], KEYS[2], KEYS[4], idem_field, user, coupon_id,
  {'kind', 'coupon', 'claimed_at', now})
return {'claimed', coupon_id, 0, claimed, quota}
