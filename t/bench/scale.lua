-- wrk script for "make bench-scale", one thread.
--
-- SCALE_MODE=fill: POST for botIds SCALE_FROM..SCALE_TO in order, one
-- request each; once all of them were answered the thread stops and
-- prints FILLED (wrk itself runs for its -d: scale.pl then stops it with
-- SIGINT); the requests sent meanwhile go to SCALE_TO again, a bot
-- already in the zone.
-- SCALE_MODE=random: POST for a botId drawn at random among 1..SCALE_TO.
-- botIds are "bot-" and 7 digits; SCALE_PATH is the location.

local mode = os.getenv("SCALE_MODE") or "random"
local path = os.getenv("SCALE_PATH") or "/openapi/clientTag"
local from = tonumber(os.getenv("SCALE_FROM") or "1")
local to = tonumber(os.getenv("SCALE_TO") or "1000")
local headers = { ["Content-Type"] = "application/json" }
local body = '{"name":"Tag number"}'

local next_bot = from
local answered = 0
local total = to - from + 1

local function post(bot)
    return wrk.format("POST", string.format("%s?botId=bot-%07d", path, bot),
        headers, body)
end

init = function(args)
    math.randomseed(os.time())
end

request = function()
    if mode == "fill" then
        local bot = next_bot

        if bot <= to then
            next_bot = bot + 1
        else
            bot = to
        end

        return post(bot)
    end

    return post(math.random(to))
end

if mode == "fill" then
    response = function(status, headers, body)
        answered = answered + 1

        if answered == total then
            io.write("FILLED\n")
            io.flush()
            wrk.thread:stop()
        end
    end
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d " ..
        "p99_us=%d errors=%d\n", summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(99),
        summary.errors.status + summary.errors.connect +
        summary.errors.read + summary.errors.write + summary.errors.timeout))
end
