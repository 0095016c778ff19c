-- POST /oauth/introspect of a valid access token, Basic client auth.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
local p = common.params()

common.client_form_post(p, "/oauth/introspect",
  "token=" .. p.access_token)
