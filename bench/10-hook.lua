-- wrk script of bench/10-hook: signed pull_request deliveries, each with its
-- own X-GitHub-Delivery, bodies and signatures prepared in $BENCH_DIR.
local dir = os.getenv("BENCH_DIR")
local prefix = os.getenv("BENCH_PREFIX") or "bench-"
local bodies, sigs = {}, {}
for line in io.lines(dir .. "/index.txt") do
	local file, sig = line:match("^(%S+) (%S+)$")
	local f = assert(io.open(dir .. "/" .. file, "rb"))
	bodies[#bodies + 1] = f:read("*a")
	f:close()
	sigs[#sigs + 1] = sig
end
local n = #bodies
local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	ok = 0
	bad = 0
end

function request()
	counter = counter + 1
	local i = (counter * 7 + tid * 131) % n + 1
	return wrk.format("POST", "/hook", {
		["Content-Type"] = "application/json",
		["X-GitHub-Event"] = "pull_request",
		["X-GitHub-Delivery"] = prefix .. tid .. "-" .. counter,
		["X-GitHub-Hook-ID"] = "1",
		["X-Hub-Signature-256"] = sigs[i],
	}, bodies[i])
end

function response(status, headers, body)
	if status == 202 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
	local o, b = 0, 0
	for _, t in ipairs(threads) do
		o = o + t:get("ok")
		b = b + t:get("bad")
	end
	local e = summary.errors
	io.write(string.format("RESULT ok=%d bad=%d requests=%d errors=%d duration_us=%d p50_us=%d p99_us=%d\n",
		o, b, summary.requests, e.connect + e.read + e.write + e.timeout, summary.duration,
		latency:percentile(50), latency:percentile(99)))
end
