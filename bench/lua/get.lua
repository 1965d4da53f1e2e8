-- GET one milestone: ids rotate over the file named by the first argument ("id status" lines).

local thread_total = 0
function setup(thread)
  thread:set("thread_number", thread_total)
  thread_total = thread_total + 1
end

local requests = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    local id = line:match("^(%S+)")
    if id then
      -- Formatted once here, so the client spends its CPU on sending, not on building.
      requests[#requests + 1] = wrk.format("GET", "/api/milestones/" .. id)
    end
  end
  -- Threads start apart, so they do not walk the same rows in step.
  next_index = (thread_number * 499) % #requests + 1
end

function request()
  local this = requests[next_index]
  next_index = next_index % #requests + 1
  return this
end
