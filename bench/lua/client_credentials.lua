-- POST /oauth/token, grant_type=client_credentials, Basic client auth.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
local p = common.params()

common.client_form_post(p, "/oauth/token",
  "grant_type=client_credentials&scope=profile")
