-- Return the units of holds whose payment deadline has passed (the sweeper's step). Any
-- number of sweepers may run at once: each hold is released exactly once.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- ARGV[1] hold key prefix   ARGV[2] most holds to release in this call
-- Keys built here: the hash of each lapsed hold found in KEYS[3] (ARGV[1] .. hold id), which
-- nobody can know before the script runs; they share KEYS[1]'s hash tag and slot.
-- Returns {holds_expired, units_returned, available, room_id, sent_pending, hold_id,
-- user_id, ...}: sent_pending counts units given to another bucket and not yet settled (the
-- sweeper then finishes those transfers); the last pairs name each expired hold and its
-- buyer, who is told. An offer that does not exist answers {0, 0, 0, '', 0}.
local expired, units, released = expire_due(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now_ms(),
  tonumber(ARGV[2]))
local o = redis.call('HMGET', KEYS[1], 'available', 'room_id', 'sent_pending')
-- An offer indexed but never created (its creation failed half-way) answers zeros: a
-- nil here would cut the reply short.
local reply = {expired, units, tonumber(o[1] or '0'), o[2] or '', tonumber(o[3] or '0')}
for _, value in ipairs(released) do reply[#reply + 1] = value end
return reply
