-- wrk script for the coupon claim storm of `livesale-bench reserve`: every request is a fresh
-- tap on a live coupon drop by one of many signed-in viewers. bench_claims.py fills in TOKENS,
-- PATH and ROUND; ROUND is new for every run of wrk, so no round replays an earlier one.
local tokens = TOKENS
local path = PATH
local round = ROUND
local threads = {}
local counter = 0
local id = 0
c200, c409, cother = 0, 0, 0

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
  local body = string.format('{"idempotency_key":"claim-%s-%d-%09d"}', round, id, counter)
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  if status == 200 then
    c200 = c200 + 1
  elseif status == 409 then
    c409 = c409 + 1
  else
    cother = cother + 1
  end
end

function done(summary, latency, requests)
  local claimed, conflict, other = 0, 0, 0
  for _, thread in ipairs(threads) do
    claimed = claimed + thread:get("c200")
    conflict = conflict + thread:get("c409")
    other = other + thread:get("cother")
  end
  io.write(string.format("CLAIMS 200=%d 409=%d other=%d\n", claimed, conflict, other))
end
