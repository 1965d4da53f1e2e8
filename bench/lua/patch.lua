-- PATCH milestones, alternating a title change and a status change.
-- Arguments: the ids file ("id status" lines, current statuses), a nonce unique to this run,
-- and wrk's thread count.
--
-- Every PATCH must change something (a PATCH that changes nothing records no event, and
-- would measure a read): titles carry the nonce and a counter, and each status is the one
-- after the milestone's current status. Each thread owns its own share of the milestones,
-- so no two requests in flight touch one milestone: this measures writes, not conflicts.

local thread_total = 0
function setup(thread)
  thread:set("thread_number", thread_total)
  thread_total = thread_total + 1
end

local following = { pending = "in_progress", in_progress = "reached", reached = "pending" }
local headers = { ["Content-Type"] = "application/json" }
local ids, statuses = {}, {}
local nonce
local counter = 0

function init(args)
  local thread_count = tonumber(args[3])
  nonce = args[2]
  local position = 0
  for line in io.lines(args[1]) do
    local id, status = line:match("^(%S+)%s+(%S+)")
    if id then
      if position % thread_count == thread_number then
        ids[#ids + 1] = id
        statuses[id] = status
      end
      position = position + 1
    end
  end
end

function request()
  local id = ids[counter % #ids + 1]
  local lap = math.floor(counter / #ids)
  local body
  -- Consecutive requests alternate, and so does each milestone from one lap to the next.
  if (counter + lap) % 2 == 0 then
    body = string.format('{"title":"Milestone renamed %s-%d-%d"}', nonce, thread_number, counter)
  else
    local status = following[statuses[id]]
    statuses[id] = status
    body = string.format('{"status":"%s"}', status)
  end
  counter = counter + 1
  return wrk.format("PATCH", "/api/milestones/" .. id, headers, body)
end
