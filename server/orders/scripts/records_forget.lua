-- Delete records from an offer's records stream once they are in their buyers' indexes
-- (purchase_record.lua): sent in the stock keeper's shared pipeline instead of a round
-- trip of its own. Deleting an entry already gone changes nothing, so a resend is safe.
-- KEYS[1] the offer's records stream
-- ARGV[1] the entry ids, as one msgpack array (a single argument costs the client a
--         fraction of encoding each id as an argument of its own)
-- Returns how many entries were deleted.
return redis.call('XDEL', KEYS[1], unpack(cmsgpack.unpack(ARGV[1])))
