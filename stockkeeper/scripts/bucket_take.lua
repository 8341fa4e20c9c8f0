-- A bucket takes the units another bucket gave it (bucket_give.lua). Each transfer is taken
-- once, however often this runs: the keeper that asked and the sweeper may both finish it.
-- KEYS[1] offer hash   KEYS[2] set of transfer ids already taken
-- ARGV[1] transfer id   ARGV[2] units
-- Returns {'taken', available} or {'already_taken', available}.
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  return {'already_taken', tonumber(redis.call('HGET', KEYS[1], 'available'))}
end
local units = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'total', units)
return {'taken', redis.call('HINCRBY', KEYS[1], 'available', units)}
