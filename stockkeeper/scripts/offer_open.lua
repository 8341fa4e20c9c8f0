-- Launch a draft offer: it takes reservations from opens_at until closes_at.
-- KEYS[1] offer hash
-- ARGV[1] countdown ms (-1 = keep the scheduled opens_at, or now when none was set)
-- ARGV[2] sale window ms (-1 = keep the scheduled closes_at)
-- Returns {'open', opens_at, closes_at}, {'unknown_offer'}, {'invalid_state', state}
-- or {'invalid_window', opens_at, closes_at} when the sale would close before it opens.
local o = redis.call('HMGET', KEYS[1], 'state', 'opens_at', 'closes_at')
if not o[1] then return {'unknown_offer'} end
if o[1] ~= 'draft' then return {'invalid_state', o[1]} end
local now = now_ms()
local countdown, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local opens_at, closes_at = tonumber(o[2]), tonumber(o[3])
if countdown >= 0 then
  opens_at = now + countdown
elseif opens_at == 0 then
  opens_at = now
end
if window >= 0 then closes_at = opens_at + window end
if closes_at <= opens_at or closes_at <= now then
  return {'invalid_window', opens_at, closes_at}
end
-- The offer then says the countdown and window it was launched with (a launch may differ
-- from the presets it was created with: 300 s asked is 300 s shown, not the preset).
redis.call('HSET', KEYS[1], 'state', 'open', 'opens_at', opens_at, 'closes_at', closes_at,
  'countdown_s', math.floor((opens_at - now) / 1000 + 0.5),
  'window_s', math.floor((closes_at - opens_at) / 1000 + 0.5))
return {'open', opens_at, closes_at}
