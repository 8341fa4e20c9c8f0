-- A viewer asks to be reminded of a show (once: asking again changes nothing).
-- KEYS[1] the show's reminder hash      KEYS[2] set of viewers who asked
-- KEYS[3] pending 'soon' reminders      KEYS[4] pending 'live' reminders
-- KEYS[5] the due index (moment|room -> due epoch ms)
-- ARGV[1] room id   ARGV[2] user id   ARGV[3] show title   ARGV[4] watch URL
-- Returns {'asked', viewers who asked}, {'already', viewers who asked}, {'live'} when the
-- show is already live, or {'ended'}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'live_at', 'ended', 'soon_at')
if s[2] == '1' then return {'ended'} end
if tonumber(s[1] or '0') > 0 then return {'live'} end
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then
  return {'already', redis.call('SCARD', KEYS[2])}
end
redis.call('HSETNX', KEYS[1], 'title', ARGV[3])
redis.call('HSETNX', KEYS[1], 'watch_url', ARGV[4])
-- The 'soon' reminder, unless its time has already passed; a show with no start time
-- yet gets it when the host announces one.
local soon_at = tonumber(s[3] or '0')
if soon_at == 0 or soon_at > now then
  redis.call('ZADD', KEYS[3], now, ARGV[2])
  if soon_at > 0 then redis.call('ZADD', KEYS[5], soon_at, 'soon|' .. ARGV[1]) end
end
redis.call('ZADD', KEYS[4], now, ARGV[2])
return {'asked', redis.call('SCARD', KEYS[2])}
