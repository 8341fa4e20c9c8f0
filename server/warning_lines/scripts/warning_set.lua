-- Set (or clear) an offer's stock warning line. A new line starts armed: if stock is already
-- at or below it, the next check fires.
-- KEYS[1] the offer's warning-line hash   KEYS[2] the offer hash
-- ARGV[1] units (0 = none)   ARGV[2] share of total stock (0 = none)
-- Returns {'set'}, {'cleared'} or {'unknown_offer'}.
if redis.call('EXISTS', KEYS[2]) == 0 then
  return {'unknown_offer'}
end
if tonumber(ARGV[1]) <= 0 and tonumber(ARGV[2]) <= 0 then
  redis.call('DEL', KEYS[1])
  return {'cleared'}
end
local crossings = redis.call('HGET', KEYS[1], 'crossings') or '0'
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'units', ARGV[1], 'share', ARGV[2], 'armed', 1,
  'crossings', crossings)
return {'set'}
