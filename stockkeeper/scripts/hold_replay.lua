-- Look up presses on an offer (or a bucket) whose sold-out flag is up in the calling
-- process: a retry of a press that reserved gets its hold back, as it is now, whichever
-- process made it; any other press learns how many units are left. Reads only, so a batch
-- costs one read of the offer and one GET per press, far less than hold_reserve.lua.
-- KEYS[1] offer hash
-- ARGV[1] the offer's key prefix, "ls:{offer:ID}:" (idempotency and hold keys are built from
--         it as hold_reserve.lua builds them; they share the offer's hash tag, so they live
--         in KEYS[1]'s cluster slot)
-- ARGV[2] the presses as one msgpack array, each [user id, idempotency key]
-- Returns one reply per press, each one of:
--   {'reserved', hold_id, quantity, reserved_at, deadline, available, 1, status}
--                          as hold_reserve.lua replays a known key
--   {'not_reserved', available}   no press with this key reserved here
local prefix = ARGV[1]
local hold_prefix = prefix .. 'hold:'
local available = tonumber(redis.call('HGET', KEYS[1], 'available') or '0')
local replies = {}
for _, r in ipairs(cmsgpack.unpack(ARGV[2])) do
  local prior = redis.call('GET', prefix .. 'idem:' .. r[1] .. ':' .. r[2])
  if prior then
    replies[#replies + 1] = replay(hold_prefix, prior, available)
  else
    replies[#replies + 1] = {'not_reserved', available}
  end
end
return replies
