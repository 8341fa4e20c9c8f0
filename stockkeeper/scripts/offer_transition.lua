-- Pause, resume or close an offer. Closing is final; holds already given stay payable.
-- KEYS[1] offer hash
-- ARGV[1] action: 'pause' | 'resume' | 'close'
-- Returns {'ok', new_state}, {'unknown_offer'} or {'invalid_state', state}.
local allowed = {
  pause = {from = {open = true}, to = 'paused'},
  resume = {from = {paused = true}, to = 'open'},
  close = {from = {draft = true, open = true, paused = true}, to = 'closed'},
}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'unknown_offer'} end
local rule = allowed[ARGV[1]]
if not rule.from[state] then return {'invalid_state', state} end
redis.call('HSET', KEYS[1], 'state', rule.to)
return {'ok', rule.to}
