-- Make an offer a group offer (or change its group terms while no group has started).
-- KEYS[1] offer hash   KEYS[2] every group of the offer (zset)
-- ARGV[1] group price (minor units)   ARGV[2] group size   ARGV[3] group window (ms)
-- ARGV[4] '1' when viewers may join groups they were not invited to (open groups), else '0'
-- Returns one of:
--   {'ok'}
--   {'unknown_offer'}
--   {'hot_offer', buckets}      the offer is split in buckets: a group's seats and holds
--                               must live in one slot, so hot offers take no groups
--   {'price_not_lower', unit_price}   the group price must be below the offer's price
--   {'invalid_state', state}    a closed offer takes no new terms
--   {'groups_started'}          terms are fixed once a group has started
local o = redis.call('HMGET', KEYS[1], 'state', 'unit_price', 'buckets', 'group_size',
  'group_price', 'group_window_ms', 'group_open')
if not o[1] then return {'unknown_offer'} end
if tonumber(o[3] or '1') > 1 then return {'hot_offer', tonumber(o[3])} end
if tonumber(ARGV[1]) >= tonumber(o[2]) then return {'price_not_lower', tonumber(o[2])} end
if o[1] == 'closed' then return {'invalid_state', o[1]} end
local same = o[4] == ARGV[2] and o[5] == ARGV[1] and o[6] == ARGV[3] and o[7] == ARGV[4]
if not same and redis.call('ZCARD', KEYS[2]) > 0 then return {'groups_started'} end
redis.call('HSET', KEYS[1], 'group_price', ARGV[1], 'group_size', ARGV[2],
  'group_window_ms', ARGV[3], 'group_open', ARGV[4])
return {'ok'}
