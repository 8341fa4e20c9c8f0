-- Prepended by the loader to every giveaway script: helpers shared by the operations.
-- No KEYS or ARGV of its own.

-- Redis's own clock, so every server process judges a giveaway's windows alike.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
