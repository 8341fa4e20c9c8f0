-- The group sweeper's step for one offer: every group whose window ended before it filled
-- fails, exactly once (it leaves the forming index and changes state in the same step,
-- whoever calls this, however often): each member's hold gives its unit back once, every
-- member who paid gets a refund_due entry (reason group_failed) in the offer's outbox, and
-- no order of the group is ever written. Also hands over (once) the groups that members
-- left by a lapsed hold, for the room to be told.
-- KEYS[1] offer hash   KEYS[2] units per user hash   KEYS[3] hold deadlines zset
-- KEYS[4] forming groups zset   KEYS[5] user -> group hash   KEYS[6] outbox stream
-- KEYS[7] groups a member left
-- ARGV[1] the offer's key prefix "ls:{offer:ID}:" (each due group's keys and its members'
--         hold keys are built from it: same hash tag, same slot)
-- ARGV[2] most groups to fail in this call   ARGV[3] offer id
-- Returns {failed group ids, left group ids, units returned, refunds written, available,
--          room id, groups still forming, offer state}.
local prefix = ARGV[1]
local now = now_ms()
local o = redis.call('HMGET', KEYS[1], 'sku', 'room_id', 'currency', 'state')
local failed, units, refunds = {}, 0, 0
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0,
  tonumber(ARGV[2]))
for _, group_id in ipairs(due) do
  local group = prefix .. 'group:' .. group_id
  redis.call('ZREM', KEYS[4], group_id)
  if redis.call('HGET', group, 'state') == 'forming' then
    redis.call('HSET', group, 'state', 'failed', 'failed_at', now)
    local seats = group .. ':seats'
    for _, user in ipairs(redis.call('ZRANGE', group .. ':members', 0, -1)) do
      local hold_id = redis.call('HGET', seats, user)
      local hold_key = prefix .. 'hold:' .. hold_id
      local h = redis.call('HMGET', hold_key, 'status', 'price', 'payment_ref')
      if h[1] == 'held' or h[1] == 'paid' then
        release(KEYS[1], KEYS[2], KEYS[3], hold_id, user, 1)
        units = units + 1
      end
      if h[1] == 'held' then
        redis.call('HSET', hold_key, 'status', 'expired')
      elseif h[1] == 'paid' then
        redis.call('HSET', hold_key, 'status', 'refunded')
        if redis.call('HSETNX', hold_key, 'refund:' .. h[3], 'group_failed') == 1 then
          redis.call('XADD', KEYS[6], '*', 'type', 'refund_due', 'reason', 'group_failed',
            'hold_id', hold_id, 'order_id', '', 'offer_id', ARGV[3], 'room_id', o[2],
            'sku', o[1], 'user_id', user, 'quantity', 1, 'amount', h[2], 'currency', o[3],
            'payment_ref', h[3], 'created_at', now, 'group_id', group_id)
          refunds = refunds + 1
        end
      end
      redis.call('HDEL', KEYS[5], user)
    end
    failed[#failed + 1] = group_id
  end
end
local left = redis.call('SMEMBERS', KEYS[7])
if #left > 0 then redis.call('DEL', KEYS[7]) end
return {failed, left, units, refunds, tonumber(redis.call('HGET', KEYS[1], 'available') or '0'),
  o[2] or '', redis.call('ZCARD', KEYS[4]), o[4] or ''}
