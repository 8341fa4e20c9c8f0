-- wrk script for `livesale-bench reserve`: every request is a fresh press of the buy button by one
-- of many signed-in viewers. bench_reserve.py fills in TOKENS, PATH and ROUND before running it;
-- ROUND is new for every run of wrk, so no round replays an earlier round's presses (a replay
-- answers 200 with the same hold and would be counted as a reservation it is not).
local tokens = TOKENS
local path = PATH
local round = ROUND
local threads = {}
local counter = 0
local id = 0
c201, c200, c409, cother = 0, 0, 0, 0

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
  local body = string.format('{"quantity":1,"idempotency_key":"bench-%s-%d-%09d"}', round, id, counter)
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    c201 = c201 + 1
  elseif status == 200 then
    c200 = c200 + 1
  elseif status == 409 then
    c409 = c409 + 1
  else
    cother = cother + 1
  end
end

function done(summary, latency, requests)
  local created, replayed, conflict, other = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    created = created + thread:get("c201")
    replayed = replayed + thread:get("c200")
    conflict = conflict + thread:get("c409")
    other = other + thread:get("cother")
  end
  io.write(string.format("STATUS 201=%d 200=%d 409=%d other=%d\n", created, replayed, conflict, other))
end
