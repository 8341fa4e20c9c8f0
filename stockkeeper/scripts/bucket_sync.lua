-- Give a bucket of a hot offer the state and sale window of the offer itself (bucket 0),
-- after a host opened, paused, resumed or closed it. Running it again changes nothing, so
-- the sweeper repairs a bucket a crashed request left behind. Closing is final.
-- KEYS[1] the bucket's offer hash
-- ARGV[1] state   ARGV[2] opens at   ARGV[3] closes at (epoch ms)
-- Returns {'ok', state} or {'unknown_offer'}.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'unknown_offer'} end
if state == 'closed' then return {'ok', 'closed'} end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'opens_at', ARGV[2], 'closes_at', ARGV[3])
return {'ok', ARGV[1]}
