-- The host answers a question and pins it (in place of any pinned before).
-- KEYS[1] questions hash   KEYS[2] answers hash   KEYS[3] pinned string
-- ARGV[1] message offset   ARGV[2] the answer (JSON)
-- Returns 'pinned' or 'unknown_question'.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'unknown_question' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SET', KEYS[3], ARGV[1])
return 'pinned'
