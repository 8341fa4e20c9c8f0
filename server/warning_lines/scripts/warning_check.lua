-- Compare an offer's available stock with its warning line, and on a crossing write ONE
-- event to the offer's outbox in the same step (the relay sends it to Kafka exactly once).
-- Stock at or below the line fires when the line is armed and disarms it; stock above the
-- line (a restock) re-arms it.
-- KEYS[1] the offer's warning-line hash   KEYS[2] the offer hash   KEYS[3] the offer's outbox
-- ARGV[1] Kafka topic   ARGV[2] available summed over the offer's buckets (used only for an
-- offer split into buckets; a single-record offer's own count is read here)
-- Returns {outcome, available, line, crossings}: outcome 'no_line', 'above', 'rearmed',
-- 'below' (fired already) or 'crossed' (fired now).
local w = redis.call('HMGET', KEYS[1], 'units', 'share', 'armed', 'crossings')
local units, share = tonumber(w[1] or '0'), tonumber(w[2] or '0')
if units <= 0 and share <= 0 then
  return {'no_line', 0, 0, 0}
end
local o = redis.call('HMGET', KEYS[2], 'available', 'total', 'buckets', 'room_id', 'sku',
  'title', 'id')
local available = tonumber(o[1] or '0')
if tonumber(o[3] or '1') > 1 then
  available = tonumber(ARGV[2])
end
local total = tonumber(o[2] or '0')
local line = units
if units <= 0 then
  line = math.floor(total * share)
end
local crossings = tonumber(w[4] or '0')
if available > line then
  if w[3] ~= '1' then
    redis.call('HSET', KEYS[1], 'armed', 1)
    return {'rearmed', available, line, crossings}
  end
  return {'above', available, line, crossings}
end
if w[3] ~= '1' then
  return {'below', available, line, crossings}
end
crossings = redis.call('HINCRBY', KEYS[1], 'crossings', 1)
redis.call('HSET', KEYS[1], 'armed', 0)
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local event = {
  schema = 'livesale.stock_warning', schema_version = 1,
  warning_id = o[7] .. ':' .. crossings, offer_id = o[7], room_id = o[4], sku = o[5],
  title = o[6], available = available, total = total, line = line,
  line_units = units, line_share = share, crossing = crossings, at_ms = at,
}
redis.call('XADD', KEYS[3], '*', 'type', 'event', 'topic', ARGV[1], 'key', o[7],
  'value', cjson.encode(event))
return {'crossed', available, line, crossings}
