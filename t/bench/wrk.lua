-- wrk script for "make bench": POST BENCH_PATH for BENCH_BOTS (100)
-- distinct botIds with the body BENCH_BODY (bytes, sent as they are).
-- Prints one line: requests, duration, p50/p99, the answers of status 400
-- or more ("rejected", wrk's status errors), the socket errors, and the
-- requests sent (answered or still in flight when the run ends).

local path = os.getenv("BENCH_PATH") or "/openapi/clientTag"
local body = os.getenv("BENCH_BODY") or '{"name":"  Team  Alpha  "}'
local bots = tonumber(os.getenv("BENCH_BOTS") or "100")
local requests = {}
local threads = {}

setup = function(thread)
    table.insert(threads, thread)
end

-- built in init(): wrk sets the Host header only then

init = function(args)
    for i = 1, bots do
        requests[i] = wrk.format("POST", path .. "?botId=bot-" .. i,
            { ["Content-Type"] = "application/json" }, body)
    end
end

local n = 0
sent = 0

request = function()
    n = n % bots + 1
    sent = sent + 1
    return requests[n]
end

done = function(summary, latency, requests)
    local p50 = latency:percentile(50)
    local p99 = latency:percentile(99)
    local e = summary.errors
    local total = 0
    for _, t in ipairs(threads) do
        total = total + t:get("sent")
    end
    io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d " ..
        "p99_us=%d rejected=%d errors=%d sent=%d\n", summary.requests,
        summary.duration, p50, p99, e.status,
        e.connect + e.read + e.write + e.timeout, total))
end
