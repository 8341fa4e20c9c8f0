-- Append an event to a room's history and publish it, in one step: every server process
-- receives the room's events in the order of their offsets.
-- KEYS[1] room events stream
-- ARGV[1] room channel   ARGV[2] history length to keep (approximate)
-- ARGV[3] event type     ARGV[4] event data (msgpack)   ARGV[5] only for this user id, or ''
-- Returns the event's offset (stream entry id).
local now = redis.call('TIME')
local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local offset = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
  't', ARGV[3], 'd', ARGV[4], 'u', ARGV[5], 'at', at)
redis.call('SPUBLISH', ARGV[1], cmsgpack.pack({offset, at, ARGV[3], ARGV[5], ARGV[4]}))
return offset
