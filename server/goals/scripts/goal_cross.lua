-- Record a tier as reached, once: of every process that sees the show's total cross it,
-- only the first call wins. The winner holds a lease to start the tier's reward; the
-- room's goal_reached event is appended in the same step.
-- KEYS[1] goals hash   KEYS[2] reached hash   KEYS[3] status hash   KEYS[4] lease hash
-- KEYS[5] room events stream
-- ARGV[1] goals version the caller read   ARGV[2] threshold   ARGV[3] reached record (JSON)
-- ARGV[4] lease (ms)   ARGV[5] room channel   ARGV[6] room history length
-- ARGV[7] goal_reached event data (msgpack)
-- Returns {'won', offset}, {'taken'} (already reached) or {'stale'} (the goals changed).
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return {'stale'} end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return {'taken'} end
redis.call('HSET', KEYS[3], ARGV[2], 'pending')
redis.call('HSET', KEYS[4], ARGV[2], now_ms() + tonumber(ARGV[4]), ARGV[2] .. ':attempts', 1)
return {'won', room_event(KEYS[5], ARGV[5], ARGV[6], 'goal_reached', ARGV[7])}
