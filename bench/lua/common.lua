-- Shared by every scenario: the parameters the bench hands over (a file of
-- key=value lines named by BENCH_PARAMS; a key may repeat to form a list),
-- per-thread counters, and one machine-readable summary line at the end.
local M = {}

function M.params()
  local single, lists = {}, {}
  local file = assert(io.open(os.getenv("BENCH_PARAMS"), "r"))
  for line in file:lines() do
    local key, value = line:match("^([%w_]+)=(.*)$")
    if key then
      if single[key] == nil then
        single[key] = value
        lists[key] = { value }
      else
        table.insert(lists[key], value)
      end
    end
  end
  file:close()
  return single, lists
end

-- Every request of a scenario the same: a form POST with the client's Basic
-- authentication (RFC 6749 §2.3.1), as the token, introspection and
-- revocation endpoints take it.
function M.client_form_post(p, path, body)
  wrk.method = "POST"
  wrk.path = path
  wrk.headers["Authorization"] = p.basic
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = body
end

local threads = {}

function M.setup(thread)
  thread:set("id", #threads)
  thread:set("ok", 0)
  thread:set("bad", 0)
  thread:set("flows", 0)
  table.insert(threads, thread)
end

-- Counted only by scenarios that define response(); the others rely on
-- wrk's own count of statuses above 399 (summary.errors.status).
function M.done(summary, latency, requests)
  local ok, bad, flows = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("ok") or 0)
    bad = bad + (thread:get("bad") or 0)
    flows = flows + (thread:get("flows") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"ok":%d,"bad":%d,"flows":%d,"checked":%s}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max,
    ok, bad, flows, tostring(M.checked == true)))
end

return M
