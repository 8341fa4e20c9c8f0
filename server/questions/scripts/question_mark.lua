-- A viewer marks a chat message as a question: once per viewer, counted per message.
-- KEYS[1] questions hash   KEYS[2] marks hash   KEYS[3] this message's markers set
-- KEYS[4] order sorted set
-- ARGV[1] message offset   ARGV[2] the question (JSON)   ARGV[3] user id   ARGV[4] now (ms)
-- Returns {'new', marks} (first mark), {'more', marks} or {'already', marks}.
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then
  return {'already', tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')}
end
local outcome = 'more'
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
  outcome = 'new'
end
return {outcome, redis.call('HINCRBY', KEYS[2], ARGV[1], 1)}
