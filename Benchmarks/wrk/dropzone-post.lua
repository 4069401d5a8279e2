-- wrk script for the dropzone: POSTs payloads of 100 numbers, each with its own instant, and
-- counts the answers by status so that the run can be checked against the raw store.
-- Usage: wrk -t2 -c64 -d20s -s Benchmarks/wrk/dropzone-post.lua http://127.0.0.1:8080/v1/measurements
-- with DROPZONE_TOKEN set to an accepted bearer token.

local counter = 0
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    accepted = 0
    other = 0
    token = os.getenv("DROPZONE_TOKEN") or "t0ken"
    local values = {}
    for i = 1, 100 do values[i] = string.format("%.6f", math.sin(i) + 1) end
    data = table.concat(values, ",")
end

function request()
    counter = counter + 1
    local seconds = id * 100000000 + counter
    local stamp = os.date("!%Y-%m-%dT%H:%M:%S", 1500000000 + seconds) .. "-04:00"
    local body = '{"time_stamp":"' .. stamp .. '","data":[' .. data .. ']}'
    return wrk.format("POST", nil, {["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
    if status == 202 then accepted = accepted + 1 else other = other + 1 end
end

function done(summary, latency, requests)
    local a, o = 0, 0
    for _, thread in ipairs(threads) do
        a = a + thread:get("accepted")
        o = o + thread:get("other")
    end
    io.write(string.format("accepted %d other %d\n", a, o))
    io.write(string.format("latency p50 %.2f ms p90 %.2f ms p99 %.2f ms\n",
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
