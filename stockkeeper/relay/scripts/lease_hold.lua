-- Take or keep the lease of a relay name: one relay at a time relays under a name.
-- KEYS[1] the name's lease
-- ARGV[1] the asking relay's token (host, process, random part)
-- ARGV[2] how long the lease lasts without being kept again (ms)
-- Returns {1, token} when the asker holds it (taken now, or kept), else {0, holder's token,
-- ms until the holder's lease lapses}.
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, ARGV[1]}
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, holder}
end
return {0, holder, redis.call('PTTL', KEYS[1])}
