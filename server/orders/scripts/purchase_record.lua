-- Remember holds of buyers of one group ("my orders"): each hold id once in its buyer's
-- index, scored by when it was made (a later record of the same hold, e.g. its payment,
-- keeps the first score). The oldest fall off past a cap, so an index stays small. The
-- presses of one moment whose buyers share a group are recorded in one call.
-- KEYS[1] the group's counter of holds recorded
-- ARGV[1] the group's index prefix, "ls:{buyers:N}:purchases:" (a buyer's index is the
--         prefix and the user id: it shares KEYS[1]'s hash tag, so it is in the same slot)
-- ARGV[2] most entries kept per buyer
-- ARGV[3] the records as one msgpack array, each [user id, hold id, made at (epoch ms)]
-- Returns one reply per record: 1 when newly remembered, 0 when it was already there.
local prefix, most = ARGV[1], tonumber(ARGV[2])
local replies = {}
for _, r in ipairs(cmsgpack.unpack(ARGV[3])) do
  local index = prefix .. r[1]
  local added = redis.call('ZADD', index, 'NX', r[3], r[2])
  replies[#replies + 1] = added
  if added == 1 then
    redis.call('INCR', KEYS[1])
    local extra = redis.call('ZCARD', index) - most
    if extra > 0 then redis.call('ZREMRANGEBYRANK', index, 0, extra - 1) end
  end
end
return replies
