-- wrk script for bench/soak.sh: a mix of redirects and mirror files, and
-- the statuses counted.
--
-- Each wrk thread goes through a cycle of 1,000 requests:
--   600  GET /v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64 (302)
--   200  GET /v2/agent-releases/1.0.0/download?platform=linux&arch=x86_64 (302)
--   100  GET /files/<small>    (1 KiB, 200)
--    69  GET /files/<medium>   (16 KiB, 200)
--    30  GET /files/<large>    (256 KiB, 200; a space in its name, sent as %20)
--     1  GET /files/<big>      (4 MiB, 200)
-- The paths come from the environment (SOAK_SMALL, SOAK_MEDIUM, SOAK_LARGE,
-- SOAK_BIG: the request paths, already percent-encoded). The mix and the
-- status counting are on with SOAK_MIX=1; otherwise wrk sends its URL's
-- request as usual (no request() or response() callback) and this script
-- only reports.
--
-- response() counts each status; done() prints one line per status seen and
-- machine-readable lines for the statuses, wrk's own error counts and its
-- CPU time (os.clock(): the whole process's, all threads):
--   soak-statuses 200=N 302=M ...
--   soak-errors connect=A read=B write=C status=D timeout=E requests=R
--   soak-cpu SECONDS
-- (wrk counts status >= 400 as "status" errors itself, whether or not a script
-- counts them.) With a response() callback wrk keeps each body for it: the
-- 4 MiB file is copied into wrk once per response, which is why it is rare.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("soak.lua: " .. name .. " is not set")
  end
  return value
end

local function mix_init(args)
  statuses = {}
  local latest = wrk.format("GET", "/v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64")
  local version = wrk.format("GET", "/v2/agent-releases/1.0.0/download?platform=linux&arch=x86_64")
  local small = wrk.format("GET", env("SOAK_SMALL"))
  local medium = wrk.format("GET", env("SOAK_MEDIUM"))
  local large = wrk.format("GET", env("SOAK_LARGE"))
  local big = wrk.format("GET", env("SOAK_BIG"))
  -- The cycle: one block of 100 in nginx's smooth weighted round robin
  -- (each kind spread evenly over the block), repeated 10 times, with one
  -- medium file of the fifth block replaced by the big one.
  local kinds = {
    { request = latest, weight = 60 }, { request = version, weight = 20 },
    { request = small, weight = 10 }, { request = medium, weight = 7 },
    { request = large, weight = 3 },
  }
  local block = {}
  for _, kind in ipairs(kinds) do kind.current = 0 end
  for i = 1, 100 do
    local best
    for _, kind in ipairs(kinds) do
      kind.current = kind.current + kind.weight
      if best == nil or kind.current > best.current then best = kind end
    end
    best.current = best.current - 100
    block[i] = best.request
  end
  cycle = {}
  local replaced = false
  for b = 1, 10 do
    for i = 1, 100 do
      local r = block[i]
      if b == 5 and r == medium and not replaced then r = big; replaced = true end
      table.insert(cycle, r)
    end
  end
  position = 0
end

local function mix_request()
  position = position % #cycle + 1
  return cycle[position]
end

local function mix_response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

-- wrk looks for these globals: without request() it sends its URL's request
-- (prepared once), without response() it skips the bodies.
if os.getenv("SOAK_MIX") == "1" then
  init, request, response = mix_init, mix_request, mix_response
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses") or {}
    for status, n in pairs(counted) do
      total[status] = (total[status] or 0) + n
    end
  end
  local keys = {}
  for status in pairs(total) do table.insert(keys, status) end
  table.sort(keys)
  local line = "soak-statuses"
  for _, status in ipairs(keys) do
    io.write(string.format("  status %d: %d\n", status, total[status]))
    line = line .. string.format(" %d=%d", status, total[status])
  end
  io.write(line .. "\n")
  local e = summary.errors
  io.write(string.format("soak-errors connect=%d read=%d write=%d status=%d timeout=%d requests=%d\n",
    e.connect, e.read, e.write, e.status, e.timeout, summary.requests))
  io.write(string.format("soak-cpu %.3f\n", os.clock()))
end
