-- The host goes live (its 'live' reminders become due now) or ends the show (nothing
-- more is sent). Either way the 'soon' reminders not yet sent are dropped: a show that
-- has started needs no "starts soon".
-- KEYS[1] the show's reminder hash   KEYS[2] pending 'soon'   KEYS[3] pending 'live'
-- KEYS[4] the due index   KEYS[5] set of viewers who asked
-- ARGV[1] room id   ARGV[2] 'live' or 'ended'   ARGV[3] seconds an ended show's keys are kept
-- Returns {'live', soon reminders dropped}, {'already', 0} when it was live already, or
-- {'ended', reminders dropped}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dropped = redis.call('ZCARD', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[4], 'soon|' .. ARGV[1])
if ARGV[2] == 'ended' then
  dropped = dropped + redis.call('ZCARD', KEYS[3])
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[4], 'live|' .. ARGV[1])
  redis.call('HSET', KEYS[1], 'ended', 1)
  redis.call('HINCRBY', KEYS[1], 'dropped', dropped)
  -- Kept a while for the host's panel (the report has its figures already), then gone.
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
  redis.call('EXPIRE', KEYS[5], tonumber(ARGV[3]))
  return {'ended', dropped}
end
redis.call('HINCRBY', KEYS[1], 'dropped', dropped)
if tonumber(redis.call('HGET', KEYS[1], 'live_at') or '0') > 0 then return {'already', 0} end
redis.call('HSET', KEYS[1], 'live_at', now)
if redis.call('ZCARD', KEYS[3]) > 0 then
  redis.call('ZADD', KEYS[4], now, 'live|' .. ARGV[1])
end
return {'live', dropped}
