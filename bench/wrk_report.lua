-- wrk script of bench/http_bench.py: counts answers with the expected status, stops a thread after a
-- maximum number of requests, and prints one machine-readable line at the end.
--
--   wrk ... -s wrk_report.lua URL -- <expected status> <max requests per thread> [<nonce> <body>]
--
-- With a nonce and a body the script sends POSTs; every body gets a new idempotency key
-- "<nonce>-<thread>-<counter>" (22 characters of [A-Za-z0-9-]) put in place of the text @KEY@.

local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("tid", next_id)
   table.insert(threads, thread)
end

function init(args)
   expected = tonumber(args[1]) or 200
   max_requests = tonumber(args[2]) or 0
   nonce = args[3]
   body_template = args[4]
   good, bad, sent = 0, 0, 0
   if body_template then
      -- Only POSTs need a request() function (a new body each time); GETs keep wrk's prebuilt request.
      wrk.method = "POST"
      wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
      request = function()
         sent = sent + 1
         local key = string.format("%s-%02d-%010d", nonce, tid, sent)
         return wrk.format(nil, nil, nil, (body_template:gsub("@KEY@", key)))
      end
   end
end

function response(status, headers, body)
   if status == expected and (expected ~= 303 or
         string.sub(headers["location"] or headers["Location"] or "", 1, 3) == "/r/") then
      good = good + 1
   else
      bad = bad + 1
   end
   if max_requests > 0 and good + bad >= max_requests then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local good_total, bad_total = 0, 0
   for _, thread in ipairs(threads) do
      good_total = good_total + (thread:get("good") or 0)
      bad_total = bad_total + (thread:get("bad") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "good": %d, "bad": %d, ' ..
      '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d, ' ..
      '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
      summary.requests, summary.duration, summary.bytes, good_total, bad_total,
      e.connect, e.read, e.write, e.timeout, e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
