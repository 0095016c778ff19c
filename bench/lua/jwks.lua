-- GET /.well-known/jwks.json (the jwks_uri), served from memory.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done

wrk.method = "GET"
wrk.path = "/.well-known/jwks.json"
