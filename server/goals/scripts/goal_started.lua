-- A reached tier's reward has started (its starter returned).
-- KEYS[1] status hash
-- ARGV[1] threshold
-- Returns 'started', or the status it had when it was not pending ('started', 'failed').
local status = redis.call('HGET', KEYS[1], ARGV[1])
if status ~= 'pending' then return status or '' end
redis.call('HSET', KEYS[1], ARGV[1], 'started')
return 'started'
