-- wrk script for "make bench": POST /openapi/clientTag for 100 distinct
-- botIds with a body whose name needs normalizing.

local path = os.getenv("BENCH_PATH") or "/openapi/clientTag"
local requests = {}

-- built in init(): wrk sets the Host header only then

init = function(args)
    for i = 1, 100 do
        requests[i] = wrk.format("POST", path .. "?botId=bot-" .. i,
            { ["Content-Type"] = "application/json" },
            '{"name": "  Tag   number\227\128\128' .. i .. '  "}')
    end
end

local n = 0

request = function()
    n = n % 100 + 1
    return requests[n]
end

done = function(summary, latency, requests)
    local p50 = latency:percentile(50)
    local p99 = latency:percentile(99)
    io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d " ..
        "p99_us=%d errors=%d\n", summary.requests, summary.duration,
        p50, p99, summary.errors.status + summary.errors.connect +
        summary.errors.read + summary.errors.write + summary.errors.timeout))
end
