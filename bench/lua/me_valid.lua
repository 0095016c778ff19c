-- GET /api/me with a valid access token.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
local p = common.params()

wrk.method = "GET"
wrk.path = "/api/me"
wrk.headers["Authorization"] = "Bearer " .. p.access_token
