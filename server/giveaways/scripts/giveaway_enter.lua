-- Enter a viewer into an open giveaway, once (the rule and bans were checked by the caller;
-- a ban that lands after this is applied at the draw).
-- KEYS[1] giveaway hash   KEYS[2] entries hash
-- ARGV[1] user id   ARGV[2] display name
-- Returns {'entered', entries} or {'already', entries} (entered before: nothing changed),
-- {'not_open'} (not started), {'closed'} (the window is over), or {'unknown'}.
local g = redis.call('HMGET', KEYS[1], 'state', 'ends_at')
if not g[1] then return {'unknown'} end
if g[1] == 'draft' then return {'not_open'} end
if g[1] ~= 'open' or now_ms() >= tonumber(g[2]) then return {'closed'} end
local added = redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
local count = redis.call('HLEN', KEYS[2])
if added == 1 then return {'entered', count} end
return {'already', count}
