-- The code flow of code_flow.lua with `scope=openid profile` and a nonce:
-- a flow counts only when the token response carries an ID token.
OPENID = true
dofile(os.getenv("BENCH_LUA_DIR") .. "/code_flow.lua")
