-- Apply one fulfilment status event to an order, de-duplicated and in order: a status
-- never moves back. Status ranks: shipped < delivered < refunded (the caller passes the
-- rank). Within one status, a later `at` updates the details (a new tracking number); an
-- equal `at` is a duplicate; an earlier one is stale. A stale event still fills in a
-- carrier or tracking number the order does not have yet (a "delivered" that overtook
-- its "shipped"), without moving the status.
-- KEYS[1] the hold's hash (stock keeper's; read only)   KEYS[2] the offer's hash (read only)
-- KEYS[3] the order's tracking hash
-- ARGV[1] order id   ARGV[2] status   ARGV[3] its rank (>= 1)   ARGV[4] at (epoch ms)
-- ARGV[5] carrier ('' = not given)   ARGV[6] tracking number ('' = not given)
-- Returns one of:
--   {'unknown_order'}   no confirmed hold carries this order id
--   {outcome, user_id, room_id, status, at, carrier, tracking, version, pushed}
--     outcome 'applied' | 'duplicate' | 'stale'; the rest is the order's tracking now.
--     version counts the changes; pushed is the last version sent to the buyer (the caller
--     sends when pushed < version, then records it with order_pushed.lua).
local h = redis.call('HMGET', KEYS[1], 'user_id', 'status', 'order_id')
if not h[1] or h[2] ~= 'confirmed' or h[3] ~= ARGV[1] then return {'unknown_order'} end
local status, rank, at = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local carrier, tracking = ARGV[5], ARGV[6]
local t = redis.call('HMGET', KEYS[3], 'rank', 'at', 'carrier', 'tracking')
local cur_rank, cur_at = tonumber(t[1] or '0'), tonumber(t[2] or '0')

local outcome
if rank > cur_rank or (rank == cur_rank and at > cur_at) then
  outcome = 'applied'
  redis.call('HSET', KEYS[3], 'status', status, 'rank', rank, 'at', at)
  if carrier ~= '' then redis.call('HSET', KEYS[3], 'carrier', carrier) end
  if tracking ~= '' then redis.call('HSET', KEYS[3], 'tracking', tracking) end
  redis.call('HINCRBY', KEYS[3], 'version', 1)
else
  outcome = (rank == cur_rank and at == cur_at) and 'duplicate' or 'stale'
  local filled = false
  if carrier ~= '' and not t[3] then
    redis.call('HSET', KEYS[3], 'carrier', carrier)
    filled = true
  end
  if tracking ~= '' and not t[4] then
    redis.call('HSET', KEYS[3], 'tracking', tracking)
    filled = true
  end
  if filled then redis.call('HINCRBY', KEYS[3], 'version', 1) end
end
local room_id = redis.call('HGET', KEYS[2], 'room_id') or ''
local n = redis.call('HMGET', KEYS[3], 'status', 'at', 'carrier', 'tracking', 'version',
  'pushed')
return {outcome, h[1], room_id, n[1], tonumber(n[2]), n[3] or '', n[4] or '',
  tonumber(n[5] or '0'), tonumber(n[6] or '0')}
