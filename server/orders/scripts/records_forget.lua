-- Delete records from an offer's records stream once they are in their buyers' indexes
-- (purchase_record.lua): sent in the stock keeper's shared pipeline instead of a round
-- trip of its own. Deleting an entry already gone changes nothing, so a resend is safe.
-- KEYS[1] the offer's records stream
-- ARGV    the entry ids
-- Returns how many entries were deleted.
return redis.call('XDEL', KEYS[1], unpack(ARGV))
