-- Move up to a batch of a show's due reminders of one moment into the reminders' outbox,
-- one 'event' entry per viewer, and take them off the pending set in the same step: each
-- viewer's reminder of each moment is written once, whichever process runs this.
-- KEYS[1] the show's reminder hash   KEYS[2] pending reminders of the moment
-- KEYS[3] the due index   KEYS[4] the reminders' outbox stream
-- ARGV[1] room id   ARGV[2] moment ('soon' or 'live')   ARGV[3] batch size
-- ARGV[4] Kafka topic
-- Returns {'sent', written, still pending} or {'not_due', 0, pending} when the moment is
-- not due (moved meanwhile, or already done).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[2] .. '|' .. ARGV[1]
local due = redis.call('ZSCORE', KEYS[3], member)
if not due or tonumber(due) > now then
  return {'not_due', 0, redis.call('ZCARD', KEYS[2])}
end
local s = redis.call('HMGET', KEYS[1], 'title', 'watch_url', 'starts_at', 'live_at')
local viewers = redis.call('ZPOPMIN', KEYS[2], tonumber(ARGV[3]))
local written = 0
for i = 1, #viewers, 2 do
  local user = viewers[i]
  local event = cjson.encode({
    schema = 'livesale.show_reminder',
    schema_version = 1,
    reminder_id = ARGV[2] .. ':' .. ARGV[1] .. ':' .. user,
    moment = ARGV[2],
    room_id = ARGV[1],
    user_id = user,
    title = s[1] or ARGV[1],
    watch_url = s[2] or ('/watch/' .. ARGV[1]),
    starts_at_ms = tonumber(s[3] or '0'),
    live_at_ms = tonumber(s[4] or '0'),
    asked_at_ms = tonumber(viewers[i + 1]),
    due_at_ms = tonumber(due),
    sent_at_ms = now,
  })
  redis.call('XADD', KEYS[4], '*', 'type', 'event', 'topic', ARGV[4], 'key', user,
    'value', event)
  written = written + 1
end
redis.call('HINCRBY', KEYS[1], 'sent_' .. ARGV[2], written)
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then redis.call('ZREM', KEYS[3], member) end
return {'sent', written, left}
