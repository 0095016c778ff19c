-- POST /oauth/token, grant_type=password (one bcrypt verification each).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
local p = common.params()

common.client_form_post(p, "/oauth/token",
  "grant_type=password&scope=profile&username=" .. p.username .. "&password=" .. p.password)
