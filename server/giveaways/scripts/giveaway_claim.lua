-- A winner claims their prize with shipping details, within their round's claim window:
-- the claim and its zero-amount order (outbox entry order_confirmed, kind giveaway) are
-- written together, with the order's hash that fulfilment's status events are checked
-- against (as a purchase's hold: user_id, status, order_id). Claiming again answers the
-- same order.
-- KEYS[1] giveaway hash   KEYS[2] winners hash   KEYS[3] claims hash   KEYS[4] outbox stream
-- KEYS[5] the prize order's hash
-- ARGV[1] user id   ARGV[2] order id   ARGV[3] shipping (JSON)   ARGV[4] currency
-- Returns {'claimed', order_id, confirmed_at_ms}, {'already', order_id, confirmed_at_ms},
-- {'not_drawn'}, {'not_winner'}, {'window_over', claim_until_ms} or {'unknown'}.
local user = ARGV[1]
local g = redis.call('HMGET', KEYS[1], 'state', 'id', 'room_id', 'sku')
if not g[1] then return {'unknown'} end
if g[1] ~= 'drawn' then return {'not_drawn'} end
local round = redis.call('HGET', KEYS[2], user)
if not round then return {'not_winner'} end
local order_id = redis.call('HGET', KEYS[3], user)
if order_id then
  return {'already', order_id, tonumber(redis.call('HGET', KEYS[5], 'confirmed_at') or '0')}
end
local claim_until = tonumber(redis.call('HGET', KEYS[1], 'claim_until:' .. round))
local now = now_ms()
if now > claim_until then return {'window_over', claim_until} end
redis.call('HSET', KEYS[3], user, ARGV[2])
redis.call('HSET', KEYS[5], 'user_id', user, 'status', 'confirmed', 'order_id', ARGV[2],
  'confirmed_at', now, 'currency', ARGV[4])
redis.call('XADD', KEYS[4], '*', 'type', 'order_confirmed', 'kind', 'giveaway',
  'order_id', ARGV[2], 'giveaway_id', g[2], 'room_id', g[3], 'sku', g[4], 'user_id', user,
  'quantity', 1, 'unit_price', 0, 'amount', 0, 'currency', ARGV[4], 'confirmed_at', now,
  'shipping', ARGV[3])
return {'claimed', ARGV[2], now}
