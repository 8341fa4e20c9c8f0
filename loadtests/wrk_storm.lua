-- wrk script for the storms of `livesale-bench reserve` (presses of the buy button, taps on a
-- coupon drop): every request is a fresh POST by one of many signed-in viewers. loadtests/wrk.py
-- fills in TOKENS, PATH, BODY (a format with one %s: the request's idempotency key) and
-- ROUND, which is new for every run of wrk, so no round replays an earlier one (a replay
-- answers 200 with the same hold or coupon, and would be counted as one it is not).
local tokens = TOKENS
local path = PATH
local body_format = BODY
local round = ROUND
local threads = {}
local counter = 0
local id = 0
c200, c201, c409, cother = 0, 0, 0, 0

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
  local key = string.format("storm-%s-%d-%09d", round, id, counter)
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, string.format(body_format, key))
end

function response(status, headers, body)
  if status == 200 then
    c200 = c200 + 1
  elseif status == 201 then
    c201 = c201 + 1
  elseif status == 409 then
    c409 = c409 + 1
  else
    cother = cother + 1
  end
end

function done(summary, latency, requests)
  local ok, created, conflict, other = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("c200")
    created = created + thread:get("c201")
    conflict = conflict + thread:get("c409")
    other = other + thread:get("cother")
  end
  io.write(string.format("STATUS 200=%d 201=%d 409=%d other=%d\n", ok, created, conflict, other))
end
