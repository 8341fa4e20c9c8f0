-- A show's start time is set or moved: its 'soon' reminders not yet sent move with it.
-- KEYS[1] the show's reminder hash   KEYS[2] pending 'soon' reminders   KEYS[3] the due index
-- ARGV[1] room id   ARGV[2] show title   ARGV[3] watch URL
-- ARGV[4] starts at (epoch ms; 0 = no start time announced)   ARGV[5] lead time ms
-- Returns {'scheduled', soon_at} (soon_at 0: no 'soon' reminder is due).
local starts_at = tonumber(ARGV[4])
local soon_at = 0
if starts_at > 0 then soon_at = math.max(1, starts_at - tonumber(ARGV[5])) end
redis.call('HSET', KEYS[1], 'title', ARGV[2], 'watch_url', ARGV[3],
  'starts_at', starts_at, 'soon_at', soon_at)
local member = 'soon|' .. ARGV[1]
if soon_at > 0 and redis.call('ZCARD', KEYS[2]) > 0 then
  redis.call('ZADD', KEYS[3], soon_at, member)
else
  redis.call('ZREM', KEYS[3], member)
end
return {'scheduled', soon_at}
