-- Close a giveaway whose window has ended: from here no entry is taken, and the entry list
-- the draw reads is final. Any process may call it, any number of times.
-- KEYS[1] giveaway hash
-- Returns {state, ends_at_ms}: 'closing' once closed (by this call or an earlier one),
-- 'open' while its window runs, 'drawn' after the draw; {'unknown'} for no such giveaway.
local g = redis.call('HMGET', KEYS[1], 'state', 'ends_at')
if not g[1] then return {'unknown'} end
local ends_at = tonumber(g[2] or '0')
if g[1] == 'open' and now_ms() >= ends_at then
  redis.call('HSET', KEYS[1], 'state', 'closing', 'closed_at', now_ms())
  return {'closing', ends_at}
end
return {g[1], ends_at}
