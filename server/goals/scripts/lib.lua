-- Helpers prepended to every goals script (LuaFolder prelude).

-- Redis's clock in epoch ms.
local function now_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end

-- Append an event for everyone to a room's history and publish it, as room_publish.lua
-- does (same stream fields, same message), so it is one of the room's events.
local function room_event(stream, channel, history_length, type_, data)
  local at = now_ms()
  local offset = redis.call('XADD', stream, 'MAXLEN', '~', history_length, '*',
    't', type_, 'd', data, 'u', '', 'at', at)
  redis.call('SPUBLISH', channel, cmsgpack.pack({offset, at, type_, '', data}))
  return offset
end
