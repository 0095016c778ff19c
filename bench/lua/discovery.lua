-- GET /.well-known/openid-configuration, served from memory.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done

wrk.method = "GET"
wrk.path = "/.well-known/openid-configuration"
