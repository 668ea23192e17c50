-- wrk script of bench/10-hook: signed pull_request deliveries, each with its
-- own X-GitHub-Delivery. $BENCH_DIR holds the payload templates (tpl-E.json:
-- an example with sentinels where pull_request.id and .number go) and
-- index.txt, one delivery a line: "E ID NUMBER SIGNATURE" (signed by the
-- bench beforehand, so the client does the same work in every phase: one
-- concatenation per request). BENCH_ONCE=1: each line is sent at most once
-- (every delivery a different PR); the RESULT line counts the requests sent
-- after the lines ran out (wrapped=, then starting over).
local dir = os.getenv("BENCH_DIR")
local prefix = os.getenv("BENCH_PREFIX") or "bench-"
local once = os.getenv("BENCH_ONCE") == "1"
local ID, NUM = "987654321987", "987654320"
local tpl, idx = {}, {}

local function split(s) -- parts around the two sentinels, and their order
	local a, b = s:find(ID, 1, true), s:find(NUM, 1, true)
	assert(a and b, "template without its sentinels")
	if a < b then
		return { s:sub(1, a - 1), s:sub(a + #ID, b - 1), s:sub(b + #NUM), false }
	end
	return { s:sub(1, b - 1), s:sub(b + #NUM, a - 1), s:sub(a + #ID), true }
end

for line in io.lines(dir .. "/index.txt") do
	local e, id, num, sig = line:match("^(%d+) (%d+) (%d+) (%S+)$")
	if tpl[e] == nil then
		local f = assert(io.open(dir .. "/tpl-" .. e .. ".json", "rb"))
		tpl[e] = split(f:read("*a"))
		f:close()
	end
	idx[#idx + 1] = { tpl[e], id, num, sig }
end
local n = #idx
local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	ok = 0
	bad = 0
	wrapped = 0
	nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
end

function request()
	counter = counter + 1
	local i
	if once then -- thread t sends lines t, t + T, t + 2T...
		i = (counter - 1) * nthreads + tid
		if i > n then wrapped = wrapped + 1; i = (i - 1) % n + 1 end
	else
		i = (counter * 7 + tid * 131) % n + 1
	end
	local d = idx[i]
	local p = d[1]
	local body = p[4] and (p[1] .. d[3] .. p[2] .. d[2] .. p[3]) or (p[1] .. d[2] .. p[2] .. d[3] .. p[3])
	return wrk.format("POST", "/hook", {
		["Content-Type"] = "application/json",
		["X-GitHub-Event"] = "pull_request",
		["X-GitHub-Delivery"] = prefix .. tid .. "-" .. counter,
		["X-GitHub-Hook-ID"] = "1",
		["X-Hub-Signature-256"] = d[4],
	}, body)
end

function response(status, headers, body)
	if status == 202 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
	local o, b, w = 0, 0, 0
	for _, t in ipairs(threads) do
		o = o + t:get("ok")
		b = b + t:get("bad")
		w = w + t:get("wrapped")
	end
	local e = summary.errors
	io.write(string.format("RESULT ok=%d bad=%d requests=%d errors=%d duration_us=%d p50_us=%d p99_us=%d wrapped=%d\n",
		o, b, summary.requests, e.connect + e.read + e.write + e.timeout, summary.duration,
		latency:percentile(50), latency:percentile(99), w))
end
