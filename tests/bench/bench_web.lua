-- bench_web.lua — wrk script of `make bench-web` (tests/bench/bench_web.sh).
--
-- Each request is GET /api/search as one of the logged-in officers (its
-- session cookie; a GET needs no other token: only POSTs are checked for
-- their origin), with a query from a mix an archive's officers type:
-- common words with and without diacritics, "quoted phrases", names,
-- document numbers, some with an agency filter (one of the officer's own),
-- a document type, a year or a dossier prefix.  20 hits, offset 0 (every
-- 8th request asks for the second page).
--
-- Environment: BENCH_TOKENS = "token:AG01,AG02;token:AG00,...;..." (the
-- officers' session tokens and their agencies).
--
-- Each thread counts its answers: 200, other status, and 200 answers that
-- hold at least one hit; done() prints one line per figure for the shell
-- script to read ("bench-web-result KEY VALUE").

local queries = {
  "hồ sơ", "ho so", "đất đai", "dat dai", "chuyển đổi số", "chuyen doi so",
  "quyết định", "quyet dinh", "ủy ban nhân dân", "uy ban nhan dan",
  "thu hồi đất", "thu hoi dat", "giấy chứng nhận", "tài nguyên môi trường",
  "\"quyền sử dụng đất\"", "\"thu hồi đất\"", "\"ủy ban nhân dân tỉnh\"",
  "Lê Thị Minh Nguyệt", "le thi minh", "Nguyễn Văn", "tam sơn", "bắc ninh",
  "112/TTr-STNMT", "kế hoạch giải phóng mặt bằng", "báo cáo",
  "công văn", "thủy lợi", "hộ gia đình cá nhân", "ubnd", "tỉnh",
}
local types = { "Quyết định", "Tờ trình", "Công văn", "quyet dinh" }

local officers = {}
for item in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^;]+") do
  local tok, ags = string.match(item, "^([0-9a-f]+):(.*)$")
  if tok then
    local list = {}
    for a in string.gmatch(ags, "[^,]+") do list[#list + 1] = a end
    officers[#officers + 1] = { tok = tok, ags = list }
  end
end

local function enc(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  threads[#threads + 1] = thread
end

-- globals: done() reads them from each thread (thread:get)
n, ok, other, withhits, checked = 0, 0, 0, 0, 0

function init(args)
  math.randomseed(1000 + (tid or 0))
  if #officers == 0 then
    error("bench_web.lua: BENCH_TOKENS is empty")
  end
end

function request()
  n = n + 1
  local o = officers[math.random(#officers)]
  local q = queries[math.random(#queries)]
  local path = "/api/search?q=" .. enc(q)
  local r = math.random(100)
  if r <= 15 then
    path = path .. "&agency=" .. enc(o.ags[math.random(#o.ags)])
  elseif r <= 22 then
    path = path .. "&type=" .. enc(types[math.random(#types)])
  elseif r <= 27 then
    path = path .. "&year=" .. (2010 + math.random(0, 15))
  elseif r <= 30 then
    path = path .. "&prefix=HS-20" .. (10 + math.random(0, 15))
  end
  if n % 8 == 0 then
    path = path .. "&offset=20"
  end
  return wrk.format("GET", path, { ["Cookie"] = "sohoa_session=" .. o.tok })
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    -- one answer in 4 is looked into: JSON with a hit list, not an error page
    if ok % 4 == 1 then
      checked = checked + 1
      if body and string.find(body, "\"dossier\":", 1, true) then
        withhits = withhits + 1
      end
    end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local tok, tother, thits, tchecked = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    tok = tok + (t:get("ok") or 0)
    tother = tother + (t:get("other") or 0)
    thits = thits + (t:get("withhits") or 0)
    tchecked = tchecked + (t:get("checked") or 0)
  end
  local e = summary.errors
  local function out(k, v) io.write("bench-web-result ", k, " ", v, "\n") end
  out("requests", summary.requests)
  out("seconds", summary.duration / 1e6)
  out("ok", tok)
  out("non200", tother)
  out("checked", tchecked)
  out("withhits", thits)
  out("err_connect", e.connect)
  out("err_read", e.read)
  out("err_write", e.write)
  out("err_status", e.status)
  out("err_timeout", e.timeout)
  for _, p in ipairs({ 50, 95, 99 }) do
    out("p" .. p .. "_ms", string.format("%.1f", latency:percentile(p) / 1000))
  end
  out("max_ms", string.format("%.1f", latency.max / 1000))
end
