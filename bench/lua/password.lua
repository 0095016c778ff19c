-- POST /oauth/token, grant_type=password (one bcrypt verification each).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
local p = common.params()

wrk.method = "POST"
wrk.path = "/oauth/token"
wrk.headers["Authorization"] = p.basic
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=password&scope=profile&username=" .. p.username .. "&password=" .. p.password
