-- Take over starting a reached tier's reward whose starter did not finish within its lease
-- (its process died, or the starter failed): a new lease, or 'failed' after enough tries.
-- KEYS[1] status hash   KEYS[2] lease hash
-- ARGV[1] threshold   ARGV[2] lease (ms)   ARGV[3] most attempts
-- Returns {'won', attempt}, {'busy'} (still leased, or not pending) or {'failed'}.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'pending' then return {'busy'} end
local now = now_ms()
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') > now then return {'busy'} end
local attempts = tonumber(redis.call('HGET', KEYS[2], ARGV[1] .. ':attempts') or '0')
if attempts >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], 'failed')
  return {'failed'}
end
redis.call('HSET', KEYS[2], ARGV[1], now + tonumber(ARGV[2]), ARGV[1] .. ':attempts', attempts + 1)
return {'won', attempts + 1}
