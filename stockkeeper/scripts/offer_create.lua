-- Create an offer in the `draft` state with all its stock available.
-- KEYS[1] offer hash
-- ARGV[1] offer id      ARGV[2] room id       ARGV[3] sku          ARGV[4] title
-- ARGV[5] unit price (minor units)            ARGV[6] currency     ARGV[7] stock
-- ARGV[8] per-user limit                      ARGV[9] hold ms
-- ARGV[10] opens at (epoch ms, 0 = set when opened)  ARGV[11] closes at (epoch ms, 0 = same)
-- ARGV[12] image URL ('' = none)   ARGV[13] countdown s   ARGV[14] sale window s (launch presets)
-- ARGV[15] buckets the offer's stock is split over (kept on the offer itself, bucket 0)
-- ARGV[16] the offer a bucket belongs to ('' for the offer itself)
-- ARGV[17] compare-at (regular) price, minor units ('' = none); hold_confirm copies it
-- Returns {'created', created_at} or {'exists'}.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
local now = now_ms()
redis.call('HSET', KEYS[1],
  'id', ARGV[1], 'room_id', ARGV[2], 'sku', ARGV[3], 'title', ARGV[4],
  'unit_price', ARGV[5], 'currency', ARGV[6],
  'total', ARGV[7], 'available', ARGV[7], 'held', 0, 'sold', 0,
  'per_user_limit', ARGV[8], 'hold_ms', ARGV[9],
  'opens_at', ARGV[10], 'closes_at', ARGV[11],
  'state', 'draft', 'created_at', now,
  'image_url', ARGV[12], 'countdown_s', ARGV[13], 'window_s', ARGV[14],
  'reservations', 0, 'orders', 0,
  'buckets', ARGV[15], 'parent_id', ARGV[16], 'sent_pending', 0)
if ARGV[17] ~= '' then redis.call('HSET', KEYS[1], 'compare_at_price', ARGV[17]) end
return {'created', now}
