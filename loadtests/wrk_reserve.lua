-- wrk script for `livesale-bench reserve`: every request is a fresh press of the buy button by one
-- of many signed-in viewers. bench_reserve.py fills in TOKENS and PATH before running it.
local tokens = TOKENS
local path = PATH
local threads = {}
local counter = 0
local id = 0
c2xx, c409, cother = 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  id = wrk.thread:get("id")
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local body = string.format('{"quantity":1,"idempotency_key":"bench-%d-%09d"}', id, counter)
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  if status == 201 or status == 200 then
    c2xx = c2xx + 1
  elseif status == 409 then
    c409 = c409 + 1
  else
    cother = cother + 1
  end
end

function done(summary, latency, requests)
  local ok, conflict, other = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("c2xx")
    conflict = conflict + thread:get("c409")
    other = other + thread:get("cother")
  end
  io.write(string.format("STATUS 2xx=%d 409=%d other=%d\n", ok, conflict, other))
end
