-- Reserve units of one offer for a batch of buyers, in arrival order: one hold each, to be
-- paid before its deadline. Every check and write of a reservation happens inside this one
-- step, so stock cannot go negative, a buyer cannot pass the per-user limit, and a retried
-- request cannot take a second unit. A batch of presses costs one round trip and one read
-- of the offer; a single press is a batch of one.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- ARGV[1] the offer's key prefix, "ls:{offer:ID}:" (hold and idempotency keys are built
--         from it; they share the offer's hash tag, so they live in the same cluster slot)
-- ARGV[2] idempotency key lifetime (seconds)
-- ARGV[3] the reservations as one msgpack array, each [user id, quantity (>= 1), new hold id,
--         idempotency key] (one argument, so the client does not encode four per press)
-- Keys built here from ARGV[1], as they depend on each press or on what Redis holds: a
-- hold's hash and an idempotency key per press, and the hashes of lapsed holds taken back.
-- They carry the offer's hash tag, so they are in KEYS[1]'s slot.
-- Returns one reply per reservation, each one of:
--   {'reserved', hold_id, quantity, reserved_at, deadline, available, replayed (0|1), status,
--    record}  record: for a new hold, the id of its entry in the offer's records stream
--             ("records" after ARGV[1]), which tells the buyer's "my orders" of it; the
--             entry is written in this same step, so a new hold is never left unrecorded
--   {'sold_out', available}   {'limit_reached', units_already_held_or_bought, limit, available}
--   {'not_open', opens_at}    {'paused'}   {'closed'}   {'unknown_offer'}
--   {'invalid', reason}       a quantity that is not a whole number >= 1
local prefix, idem_ttl = ARGV[1], ARGV[2]
local hold_prefix = prefix .. 'hold:'
local records = prefix .. 'records'
local o = redis.call('HMGET', KEYS[1],
  'state', 'opens_at', 'closes_at', 'available', 'per_user_limit', 'hold_ms')
local state = o[1]
local now = now_ms()
local opens_at, closes_at = tonumber(o[2]), tonumber(o[3])
local available = tonumber(o[4])
local limit, hold_ms = tonumber(o[5]), tonumber(o[6])

local function reserve(user, quantity, hold_id, idem_key)
  if not quantity or quantity < 1 or quantity ~= math.floor(quantity) then
    return {'invalid', 'quantity must be a whole number of at least 1'}
  end
  -- A retry of a request that already reserved gets that same hold back, whatever happened
  -- since (it may have been paid or have expired: status says which).
  local prior = redis.call('GET', idem_key)
  if prior then return replay(hold_prefix, prior, available) end
  if not state then return {'unknown_offer'} end
  if state == 'closed' then return {'closed'} end
  if state == 'paused' then return {'paused'} end
  -- Checked before stock is touched: a press before the countdown ends takes nothing.
  if state == 'draft' or now < opens_at then return {'not_open', opens_at} end
  if now >= closes_at then return {'closed'} end

  local have = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  if have + quantity > limit then return {'limit_reached', have, limit, available} end
  if available < quantity then
    -- Overdue holds the sweeper has not reached yet are stock: take them back first, so
    -- "sold out" is only ever said when it is true.
    local _, returned = expire_due(KEYS[1], KEYS[2], KEYS[3], hold_prefix, now, 100)
    if returned > 0 then
      available = tonumber(redis.call('HGET', KEYS[1], 'available'))
      -- The buyer's own lapsed hold no longer counts against the limit.
      have = tonumber(redis.call('HGET', KEYS[2], user) or '0')
      if have + quantity > limit then return {'limit_reached', have, limit, available} end
    end
    if available < quantity then return {'sold_out', available} end
  end

  available = redis.call('HINCRBY', KEYS[1], 'available', -quantity)
  redis.call('HINCRBY', KEYS[1], 'held', quantity)
  redis.call('HINCRBY', KEYS[1], 'reservations', 1)
  redis.call('HINCRBY', KEYS[2], user, quantity)
  local deadline = now + hold_ms
  redis.call('HSET', hold_prefix .. hold_id, 'user_id', user, 'quantity', quantity,
    'status', 'held', 'reserved_at', now, 'deadline', deadline)
  redis.call('ZADD', KEYS[3], deadline, hold_id)
  redis.call('SET', idem_key, hold_id, 'EX', idem_ttl)
  local record = redis.call('XADD', records, '*', 'user', user, 'hold', hold_id, 'at', now)
  return {'reserved', hold_id, quantity, now, deadline, available, 0, 'held', record}
end

local replies = {}
for _, r in ipairs(cmsgpack.unpack(ARGV[3])) do
  local user = r[1]
  local idem_key = prefix .. 'idem:' .. user .. ':' .. r[4]
  replies[#replies + 1] = reserve(user, tonumber(r[2]), r[3], idem_key)
end
return replies
