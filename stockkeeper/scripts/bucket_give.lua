-- A bucket of a hot offer gives units to another bucket whose buyers found it empty. The
-- units leave this bucket's stock and are written down as a transfer in the same step; the
-- receiving bucket takes them with bucket_take.lua, and bucket_settle.lua crosses the
-- transfer off here. Until then they count as `sent_pending`, so a crash between the steps
-- loses no unit: the sweeper finishes every transfer still written down.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- KEYS[4] transfers hash (transfer id -> "receiving bucket id units")
-- ARGV[1] hold key prefix   ARGV[2] transfer id   ARGV[3] units wanted (>= 1)
-- ARGV[4] receiving bucket id
-- Keys built here: the hashes of lapsed holds taken back first (ARGV[1] .. hold id), in
-- KEYS[1]'s slot.
-- Returns {'given', units} (at most what was wanted, at least 1), {'empty'} or
-- {'unknown_offer'}.
local o = redis.call('HMGET', KEYS[1], 'state', 'available')
if not o[1] then return {'unknown_offer'} end
local available = tonumber(o[2])
if available < 1 then
  -- Lapsed holds the sweeper has not reached yet are stock to give too.
  expire_due(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now_ms(), 100)
  available = tonumber(redis.call('HGET', KEYS[1], 'available'))
end
if available < 1 then return {'empty'} end
local units = math.min(tonumber(ARGV[3]), available)
redis.call('HINCRBY', KEYS[1], 'available', -units)
redis.call('HINCRBY', KEYS[1], 'total', -units)
redis.call('HINCRBY', KEYS[1], 'sent_pending', units)
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4] .. ' ' .. units)
return {'given', units}
