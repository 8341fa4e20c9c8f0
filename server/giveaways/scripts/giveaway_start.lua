-- Start a draft giveaway's entry window with its commitment (SHA-256 of the secret seed,
-- kept in the hash until the draw). Starting one that already started changes nothing.
-- KEYS[1] giveaway hash
-- ARGV[1] seed (hex)   ARGV[2] commitment (hex)
-- Returns {'started', ends_at_ms} for this start, {state, ends_at_ms} when it had started
-- before (state open, closing or drawn), or {'unknown'}.
local g = redis.call('HMGET', KEYS[1], 'state', 'window_s', 'ends_at')
if not g[1] then return {'unknown'} end
if g[1] ~= 'draft' then return {g[1], tonumber(g[3])} end
local now = now_ms()
local ends_at = now + tonumber(g[2]) * 1000
redis.call('HSET', KEYS[1], 'state', 'open', 'seed', ARGV[1], 'commitment', ARGV[2],
  'started_at', now, 'ends_at', ends_at)
return {'started', ends_at}
