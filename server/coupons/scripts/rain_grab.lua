-- A viewer grabs a packet of a live red packet rain: the next packet of the split made when
-- the rain started, once per viewer. The packet becomes store credit for the show.
-- KEYS[1] rain info hash   KEYS[2] claims per user hash   KEYS[3] items per user hash
-- KEYS[4] idempotency hash   KEYS[5] packets list
-- ARGV[1] user id   ARGV[2] idempotency key   ARGV[3] item key prefix
-- Returns one of:
--   {'grabbed', packet_id, amount, replayed (0|1), grabbed, packets}
--   {'not_live'} | {'window_over'} | {'exhausted', grabbed, packets} | {'unknown'}
--   {'already_grabbed', packet_id}
local user, idem_field = ARGV[1], ARGV[1] .. ':' .. ARGV[2]
local r = redis.call('HMGET', KEYS[1], 'kind', 'grabbed', 'packets', 'id')
if r[1] ~= 'rain' then return {'unknown'} end
local grabbed, packets = tonumber(r[2]), tonumber(r[3])
local earlier = redis.call('HGET', KEYS[4], idem_field)
if earlier then
  local amount = redis.call('HGET', ARGV[3] .. earlier, 'amount')
  return {'grabbed', earlier, tonumber(amount), 1, grabbed, packets}
end
local now = now_ms()
local why = takes_claims(KEYS[1], now)
if why ~= 'ok' then return {why} end
local had = redis.call('HGET', KEYS[3], user)
if had then return {'already_grabbed', had} end
local amount = redis.call('LPOP', KEYS[5])
if not amount then return {'exhausted', grabbed, packets} end
grabbed = redis.call('HINCRBY', KEYS[1], 'grabbed', 1)
redis.call('HINCRBY', KEYS[1], 'grabbed_amount', amount)
local packet_id = r[4] .. '.' .. grabbed
new_item(ARGV[3], KEYS[3], KEYS[2], KEYS[4], idem_field, user, packet_id,
  {'kind', 'credit', 'amount', amount, 'balance', amount, 'claimed_at', now})
return {'grabbed', packet_id, tonumber(amount), 0, grabbed, packets}
