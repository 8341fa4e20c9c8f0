-- Step 2b of paying with a coupon or credit, in the hold's own slot (the offer's): fix for
-- good whether the hold's order used the lock `token`. If it did not, the token is fenced:
-- hold_confirm.lua refuses it from now on, so the item can be given back safely even when a
-- confirm carrying it is still on its way.
-- KEYS[1] hold hash
-- ARGV[1] lock token
-- Returns {'used', amount used, order id} or {'unused'}.
local used = redis.call('HMGET', KEYS[1], 'benefit:' .. ARGV[1], 'order_id')
if used[1] then return {'used', tonumber(used[1]), used[2] or ''} end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'fence:' .. ARGV[1], 1)
end
return {'unused'}
