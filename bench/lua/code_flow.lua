-- The authorization-code flow with PKCE: POST /oauth/authorize (consent
-- "yes") with a logged-in session, which answers 302 with a code, then
-- POST /oauth/token to exchange the code. Sessions (cookie + CSRF token)
-- are made by the bench before the run, one per connection; a thread uses
-- them in turn. A request is an exchange when a code is waiting, an
-- authorization otherwise. A flow counts when the exchange answers 200.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, done = common.setup, common.done
common.checked = true

local codes = {}
local sessions = {}
local next_session = 0
local p, token_headers, authorize_path

function init(args)
  local lists
  p, lists = common.params()
  for i, cookie in ipairs(lists.cookie) do
    sessions[i] = { cookie = cookie, csrf = lists.csrf[i] }
  end
  next_session = id
  -- openid_code_flow.lua sets OPENID: the same flow with `openid`.
  authorize_path = OPENID and p.openid_authorize_path or p.authorize_path
  token_headers = {
    ["Authorization"] = p.basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

function request()
  local code = table.remove(codes, 1)
  if code then
    return wrk.format("POST", "/oauth/token", token_headers,
      "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" ..
      p.redirect_uri .. "&code_verifier=" .. p.code_verifier)
  end
  next_session = next_session % #sessions + 1
  local session = sessions[next_session]
  return wrk.format("POST", authorize_path, {
    ["Cookie"] = session.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "confirm=yes&csrf_token=" .. session.csrf)
end

function response(status, headers, body)
  if status == 302 then
    local location = headers["location"] or headers["Location"] or ""
    local code = location:match("[?&]code=([^&]+)")
    if code then
      table.insert(codes, code)
      ok = ok + 1
    else
      bad = bad + 1
    end
  elseif status == 200 and (not OPENID or body:find('"id_token"', 1, true)) then
    flows = flows + 1
    ok = ok + 1
  else
    bad = bad + 1
  end
end
