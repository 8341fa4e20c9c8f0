-- Give a relay name's lease back on a clean stop, so that a relay standing by under the
-- same name takes over at once instead of when the lease lapses. Only its holder may.
-- KEYS[1] the name's lease
-- ARGV[1] the stopping relay's token
-- Returns 1 when released, 0 when another relay held it (or nobody).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
