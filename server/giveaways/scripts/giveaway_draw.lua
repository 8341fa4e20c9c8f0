-- Store a round's winners, exactly once: round 0 (the draw) turns a closed giveaway into a
-- drawn one; round r > 0 (a redraw of unclaimed prizes) follows round r - 1 once its claim
-- window is over. In the same step the result goes to the outbox, so Kafka gets each
-- round once. The caller computed the winners (server/giveaways/draw.py) from the frozen
-- entries; a second caller of the same round finds it done and stores nothing.
-- KEYS[1] giveaway hash   KEYS[2] winners hash   KEYS[3] rounds hash   KEYS[4] outbox stream
-- KEYS[5] claims hash
-- ARGV[1] round   ARGV[2] entries hash   ARGV[3] entries count   ARGV[4] round record (JSON)
-- ARGV[5] claim window (ms)   ARGV[6] Kafka topic   ARGV[7] Kafka key
-- ARGV[8] the result event as JSON without its closing brace ("drawn_at_ms" and
--         "claim_until_ms" are added here, from Redis's clock)
-- ARGV[9] claims the caller counted (a redraw is computed for that many unclaimed prizes)
-- ARGV[10..] the winners' user ids
-- Returns {'drawn', drawn_at_ms, claim_until_ms}, {'stale', state, round} (another call
-- drew this round, or the state moved), or {'claim_window_open', claim_until_ms}.
local round = tonumber(ARGV[1])
local g = redis.call('HMGET', KEYS[1], 'state', 'round')
local state, current = g[1] or 'unknown', tonumber(g[2] or '-1')
local now = now_ms()
if round == 0 then
  if state ~= 'closing' then return {'stale', state, current} end
  redis.call('HSET', KEYS[1], 'entries_hash', ARGV[2], 'entries_count', ARGV[3])
else
  if state ~= 'drawn' or current ~= round - 1 then return {'stale', state, current} end
  local until_ms = tonumber(redis.call('HGET', KEYS[1], 'claim_until:' .. current))
  if now <= until_ms then return {'claim_window_open', until_ms} end
  if redis.call('HLEN', KEYS[5]) ~= tonumber(ARGV[9]) then return {'stale', state, current} end
end
local claim_until = now + tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'state', 'drawn', 'round', round, 'drawn_at:' .. round, now,
  'claim_until:' .. round, claim_until)
redis.call('HSET', KEYS[3], round, ARGV[4])
for i = 10, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], round)
end
local value = ARGV[8] .. string.format(',"drawn_at_ms":%d,"claim_until_ms":%d}', now, claim_until)
redis.call('XADD', KEYS[4], '*', 'type', 'event', 'topic', ARGV[6], 'key', ARGV[7],
  'value', value)
return {'drawn', now, claim_until}
