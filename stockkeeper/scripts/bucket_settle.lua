-- The giving bucket crosses off a transfer the receiving bucket has taken (run only after
-- bucket_take.lua answered). Settling twice changes nothing.
-- KEYS[1] offer hash   KEYS[2] transfers hash
-- ARGV[1] transfer id
-- Returns the units crossed off (0 when the transfer was already settled).
local transfer = redis.call('HGET', KEYS[2], ARGV[1])
if not transfer then return 0 end
local units = tonumber(string.match(transfer, ' (%d+)$'))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'sent_pending', -units)
return units
