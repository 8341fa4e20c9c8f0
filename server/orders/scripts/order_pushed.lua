-- Record that the buyer's screens were sent an order's tracking up to a version (never
-- lowering it: an older push finishing late changes nothing).
-- KEYS[1] the order's tracking hash
-- ARGV[1] the version sent
-- Returns 1 when recorded, 0 when a newer version was recorded already.
if tonumber(redis.call('HGET', KEYS[1], 'pushed') or '0') >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'pushed', ARGV[1])
return 1
