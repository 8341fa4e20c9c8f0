-- A viewer's vote in a poll: one vote per viewer, changed only when the poll allows it.
-- KEYS[1] poll hash   KEYS[2] votes hash (user id -> answer)   KEYS[3] counts hash
-- ARGV[1] user id   ARGV[2] answer (0-based)
-- Returns {outcome, previous answer or -1, votes for answer 0, 1, ...}. outcome:
-- 'voted', 'changed', 'unchanged' (the same answer again: nothing changes),
-- 'already_voted' (a change the poll does not allow), 'unknown_poll', 'not_open' (not
-- started yet), 'closed' (ended, or its window has passed), 'unknown_answer'.
local poll = redis.call('HMGET', KEYS[1], 'state', 'answer_count', 'closes_at', 'allow_change')
local state = poll[1]
if not state then return {'unknown_poll', -1} end
if state == 'draft' then return {'not_open', -1} end
local now = redis.call('TIME')
local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if state ~= 'open' or at >= tonumber(poll[3]) then return {'closed', -1} end
local n = tonumber(poll[2])
local answer = tonumber(ARGV[2])
if answer == nil or answer < 0 or answer >= n then return {'unknown_answer', -1} end
local function reply(outcome, previous)
  local counts = redis.call('HMGET', KEYS[3], '0', '1', '2', '3')
  local out = {outcome, previous}
  for i = 1, n do out[#out + 1] = tonumber(counts[i] or '0') end
  return out
end
local previous = redis.call('HGET', KEYS[2], ARGV[1])
if previous then
  previous = tonumber(previous)
  if previous == answer then return reply('unchanged', previous) end
  if poll[4] ~= '1' then return reply('already_voted', previous) end
  redis.call('HINCRBY', KEYS[3], previous, -1)
end
redis.call('HSET', KEYS[2], ARGV[1], answer)
redis.call('HINCRBY', KEYS[3], answer, 1)
if previous then return reply('changed', previous) end
return reply('voted', -1)
