-- GET /api/me with a well-formed but unknown token: 401 is the expected
-- answer, anything else is counted as an error.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
common.checked = true
local p = common.params()

wrk.method = "GET"
wrk.path = "/api/me"
wrk.headers["Authorization"] = "Bearer " .. p.invalid_token

function response(status, headers, body)
  if status == 401 then ok = ok + 1 else bad = bad + 1 end
end
