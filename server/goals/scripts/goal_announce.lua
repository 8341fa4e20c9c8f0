-- The "announcement" reward: publish the announcement and mark the tier's reward started
-- in one step, so a retry after a crash never announces twice.
-- KEYS[1] status hash   KEYS[2] room events stream
-- ARGV[1] threshold   ARGV[2] room channel   ARGV[3] room history length
-- ARGV[4] announcement event data (msgpack)
-- Returns {'announced', offset} or {'already'} (started before).
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'pending' then return {'already'} end
redis.call('HSET', KEYS[1], ARGV[1], 'started')
return {'announced', room_event(KEYS[2], ARGV[2], ARGV[3], 'announcement', ARGV[4])}
