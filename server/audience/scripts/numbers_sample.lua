-- Note a room's numbers in the minute of a sample: the most viewers seen at once in it, and
-- the running totals (likes, reservations, orders, GMV per currency) as of the sample.
-- KEYS[1] the room's per-minute numbers hash ("<minute>:<figure>" -> number)
-- ARGV[1] minute (epoch ms // 60000)   ARGV[2] viewers now
-- ARGV[3..] pairs of figure name and running total
-- Returns the most viewers of the minute so far.
local minute = ARGV[1]
local field = minute .. ':viewers'
local peak = math.max(tonumber(redis.call('HGET', KEYS[1], field) or '0'), tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], field, peak)
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], minute .. ':' .. ARGV[i], ARGV[i + 1])
end
return peak
