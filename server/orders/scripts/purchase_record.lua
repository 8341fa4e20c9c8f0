-- Remember holds of one buyer ("my orders"): each hold id once, scored by when it was made
-- (a later record of the same hold, e.g. its payment, keeps the first score). The oldest
-- fall off past a cap, so a buyer's index stays small.
-- KEYS[1] the buyer's purchases sorted set
-- ARGV[1] most entries kept
-- ARGV[2] the records as one msgpack array, each [hold id, made at (epoch ms)]
-- Returns one reply per record: 1 when newly remembered, 0 when it was already there.
local replies = {}
for _, r in ipairs(cmsgpack.unpack(ARGV[2])) do
  replies[#replies + 1] = redis.call('ZADD', KEYS[1], 'NX', r[2], r[1])
end
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
return replies
