-- POST /oauth/token, grant_type=refresh_token with rotation: every refresh
-- token is used once. Each thread starts with its share of the seed tokens
-- (one per connection, or more) and uses the refresh_token of each answer
-- for a later request.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
common.checked = true

local queue = {}
local headers

function init(args)
  local p, lists = common.params()
  local threads = tonumber(p.threads)
  for i, token in ipairs(lists.refresh_token or {}) do
    if (i - 1) % threads == id then table.insert(queue, token) end
  end
  headers = {
    ["Authorization"] = p.basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

function request()
  -- An empty queue means earlier answers failed: the request then fails
  -- too and is counted.
  local token = table.remove(queue, 1) or "exhausted"
  return wrk.format("POST", "/oauth/token", headers,
    "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = status == 200 and body:match('"refresh_token":"([^"]+)"')
  if token then
    table.insert(queue, token)
    ok = ok + 1
  else
    bad = bad + 1
  end
end
