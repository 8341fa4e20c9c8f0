-- Set a show's goals. Tiers already reached stay: new goals must keep the same figure and
-- every reached threshold (their rewards started with what was set then).
-- KEYS[1] goals hash   KEYS[2] reached hash
-- ARGV[1] ladder (JSON)   ARGV[2] metric key ("units" or "gmv:EUR")   ARGV[3..] thresholds
-- Returns {'set', version} or {'reached', a reached threshold the new goals drop}.
local reached = redis.call('HKEYS', KEYS[2])
if #reached > 0 then
  local keeps = {}
  for i = 3, #ARGV do keeps[ARGV[i]] = true end
  local same_metric = redis.call('HGET', KEYS[1], 'metric_key') == ARGV[2]
  for _, threshold in ipairs(reached) do
    if not same_metric or not keeps[threshold] then return {'reached', threshold} end
  end
end
redis.call('HSET', KEYS[1], 'ladder', ARGV[1], 'metric_key', ARGV[2])
return {'set', redis.call('HINCRBY', KEYS[1], 'version', 1)}
