-- Viewers grab packets of a live red packet rain, a batch of grabs that arrived together, in
-- arrival order: each takes the next packet of the split made when the rain started, once
-- per viewer. A packet becomes store credit for the show. A single grab is a batch of one.
-- KEYS[1] rain info hash   KEYS[2] claims per user hash   KEYS[3] items per user hash
-- KEYS[4] idempotency hash   KEYS[5] packets list
-- ARGV[1] item key prefix (items share the rain's hash tag)
-- ARGV[2] the grabs as one msgpack array, each [user id, idempotency key, room id of the
--         request] (a rain is grabbed only in its own show's room)
-- Returns one reply per grab, each one of:
--   {'grabbed', packet_id, amount, replayed (0|1), grabbed, packets}
--   {'not_live'} | {'window_over'} | {'exhausted', grabbed, packets} | {'unknown'}
--   {'already_grabbed', packet_id}
local r = redis.call('HMGET', KEYS[1], 'kind', 'grabbed', 'packets', 'id', 'room_id')
local known = r[1] == 'rain'
local grabbed, packets = tonumber(r[2] or '0'), tonumber(r[3] or '0')
local now = now_ms()
local why = known and takes_claims(KEYS[1], now) or 'unknown'
local taken = 0

local function grab(user, idem_field, room_id)
  if not known or room_id ~= r[5] then return {'unknown'} end
  local earlier = redis.call('HGET', KEYS[4], idem_field)
  if earlier then
    local amount = redis.call('HGET', ARGV[1] .. earlier, 'amount')
    return {'grabbed', earlier, tonumber(amount), 1, grabbed, packets}
  end
  if why ~= 'ok' then return {why} end
  local had = redis.call('HGET', KEYS[3], user)
  if had then return {'already_grabbed', had} end
  local amount = redis.call('LPOP', KEYS[5])
  if not amount then return {'exhausted', grabbed, packets} end
  grabbed = grabbed + 1
  taken = taken + tonumber(amount)
  local packet_id = r[4] .. '.' .. grabbed
  new_item(ARGV[1], KEYS[3], KEYS[2], KEYS[4], idem_field, user, packet_id,
    {'kind', 'credit', 'amount', amount, 'balance', amount, 'claimed_at', now})
  return {'grabbed', packet_id, tonumber(amount), 0, grabbed, packets}
end

local replies = {}
for _, g in ipairs(cmsgpack.unpack(ARGV[2])) do
  replies[#replies + 1] = grab(g[1], g[1] .. ':' .. g[2], g[3])
end
if taken > 0 then
  redis.call('HSET', KEYS[1], 'grabbed', grabbed)
  redis.call('HINCRBY', KEYS[1], 'grabbed_amount', taken)
end
return replies
