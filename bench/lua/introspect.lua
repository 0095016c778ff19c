-- POST /oauth/introspect of a valid access token, Basic client auth.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
local p = common.params()

wrk.method = "POST"
wrk.path = "/oauth/introspect"
wrk.headers["Authorization"] = p.basic
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "token=" .. p.access_token
