-- Start a buying group or join one: the unit (a hold at the group price, within the
-- per-viewer limit, never past the stock) and the seat are taken together in this one step,
-- so a group never has more than its size in members and no seat exists without a unit.
-- When the last seat is taken the group forms, here: every member who already paid gets
-- their order_confirmed entry in the offer's outbox now (members paying later get theirs at
-- payment, group_confirm.lua). Formation needs the window still open; group_fail.lua needs
-- it over: one outcome, whichever runs first.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- KEYS[4] group hash   KEYS[5] group members zset   KEYS[6] group seats hash
-- KEYS[7] forming groups zset   KEYS[8] every group zset   KEYS[9] user -> group hash
-- KEYS[10] idempotency key of this request   KEYS[11] outbox stream   KEYS[12] buyers set
-- ARGV[1] user id   ARGV[2] display name   ARGV[3] new hold id   ARGV[4] idempotency ttl s
-- ARGV[5] group id (a new one to start)   ARGV[6] '1' start, '0' join
-- ARGV[7] the offer's key prefix "ls:{offer:ID}:" (hold keys, and the group of a replayed
--         request, are built from it: same hash tag, same slot)   ARGV[8] offer id
-- Returns one of:
--   {'joined', hold_id, group_id, reserved_at, deadline, available, replayed (0|1),
--    hold status, members, size, group state, orders written at formation}
--   {'unknown_offer'} {'closed'} {'paused'} {'not_open', opens_at} {'not_group_offer'}
--   {'already_in_group', group_id}   {'limit_reached', units, limit}
--   {'already_holding', units}       the viewer holds or bought this offer already
--   {'unknown_group'} {'group_full', size} {'group_failed'}   {'sold_out', available}
--   {'id_taken'}   (start) a group has this new id already: nothing was written, the caller
--                  draws another id
local user, name, hold_id, group_id = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local starting = ARGV[6] == '1'
local prefix = ARGV[7]
local hold_prefix = prefix .. 'hold:'
local now = now_ms()
local o = redis.call('HMGET', KEYS[1], 'state', 'opens_at', 'closes_at', 'available',
  'per_user_limit', 'hold_ms', 'group_size', 'group_price', 'group_window_ms', 'group_open',
  'room_id')
local available = tonumber(o[4])

local function answer(hold, replayed)
  local h = redis.call('HMGET', hold_prefix .. hold, 'reserved_at', 'deadline', 'status',
    'group_id')
  local g = redis.call('HMGET', prefix .. 'group:' .. h[4], 'members', 'size', 'state')
  return {'joined', hold, h[4], tonumber(h[1]), tonumber(h[2]), available, replayed, h[3],
    tonumber(g[1]), tonumber(g[2]), g[3], 0}
end

local prior = redis.call('GET', KEYS[10])
if prior then return answer(prior, 1) end
if not o[1] then return {'unknown_offer'} end
if o[1] == 'closed' then return {'closed'} end
if o[1] == 'paused' then return {'paused'} end
if o[1] == 'draft' or now < tonumber(o[2]) then return {'not_open', tonumber(o[2])} end
if now >= tonumber(o[3]) then return {'closed'} end
if not o[7] then return {'not_group_offer'} end
local in_group = redis.call('HGET', KEYS[9], user)
if in_group then return {'already_in_group', in_group} end
local have = tonumber(redis.call('HGET', KEYS[2], user) or '0')
-- A seat is the viewer's only unit of this offer: holding or having bought one already is
-- refused by name (it would also count against the per-viewer limit).
if have > 0 then return {'already_holding', have} end
if have + 1 > tonumber(o[5]) then return {'limit_reached', have, tonumber(o[5])} end

local size = tonumber(o[7])
if starting and redis.call('EXISTS', KEYS[4]) == 1 then return {'id_taken'} end
if not starting then
  local g = redis.call('HMGET', KEYS[4], 'state', 'ends_at', 'members', 'size')
  if not g[1] then return {'unknown_group'} end
  if g[1] == 'formed' then return {'group_full', tonumber(g[4])} end
  if g[1] == 'failed' or now >= tonumber(g[2]) then return {'group_failed'} end
  size = tonumber(g[4])
  if tonumber(g[3]) >= size then return {'group_full', size} end
end

if available < 1 then
  -- Overdue holds the sweeper has not reached yet are stock (as in hold_reserve.lua).
  local _, returned = expire_due(KEYS[1], KEYS[2], KEYS[3], hold_prefix, now, 100)
  if returned > 0 then available = tonumber(redis.call('HGET', KEYS[1], 'available')) end
  if available < 1 then return {'sold_out', available} end
  -- A lapsed member's seat may have been the joiner's group's: counted again below.
  if not starting and redis.call('HGET', KEYS[4], 'state') ~= 'forming' then
    return {'group_failed'}
  end
end

if starting then
  redis.call('HSET', KEYS[4], 'id', group_id, 'offer_id', ARGV[8], 'room_id', o[11],
    'state', 'forming', 'size', size, 'price', o[8], 'members', 0, 'paid', 0,
    'open', o[10] or '0', 'leader', user, 'leader_name', name, 'created_at', now,
    'ends_at', now + tonumber(o[9]))
  redis.call('ZADD', KEYS[7], now + tonumber(o[9]), group_id)
  redis.call('ZADD', KEYS[8], now, group_id)
end
local price = redis.call('HGET', KEYS[4], 'price')

available = redis.call('HINCRBY', KEYS[1], 'available', -1)
redis.call('HINCRBY', KEYS[1], 'held', 1)
redis.call('HINCRBY', KEYS[1], 'reservations', 1)
redis.call('HINCRBY', KEYS[2], user, 1)
local deadline = now + tonumber(o[6])
redis.call('HSET', hold_prefix .. hold_id, 'user_id', user, 'quantity', 1, 'status', 'held',
  'reserved_at', now, 'deadline', deadline, 'group_id', group_id, 'price', price)
redis.call('ZADD', KEYS[3], deadline, hold_id)
redis.call('SET', KEYS[10], hold_id, 'EX', ARGV[4])

redis.call('ZADD', KEYS[5], now, user)
redis.call('HSET', KEYS[6], user, hold_id, 'name:' .. user, name)
redis.call('HSET', KEYS[9], user, group_id)
local members = redis.call('HINCRBY', KEYS[4], 'members', 1)
local orders = 0
if members >= size then
  redis.call('HSET', KEYS[4], 'state', 'formed', 'formed_at', now)
  redis.call('ZREM', KEYS[7], group_id)
  for _, member in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
    local member_hold = redis.call('HGET', KEYS[6], member)
    local hold_key = hold_prefix .. member_hold
    local paid = redis.call('HMGET', hold_key, 'status', 'payment_ref')
    if paid[1] == 'paid' then
      redis.call('HINCRBY', KEYS[1], 'held', -1)
      group_order(KEYS[1], KEYS[11], KEYS[12], hold_key, member_hold, ARGV[8], paid[2], now)
      orders = orders + 1
    end
  end
end
local reply = answer(hold_id, 0)
reply[12] = orders
return reply
