-- GET the list of one project (100 milestones): the arguments are the project ids to rotate over.

local thread_total = 0
function setup(thread)
  thread:set("thread_number", thread_total)
  thread_total = thread_total + 1
end

local requests = {}
local next_index = 1

function init(args)
  for _, project_id in ipairs(args) do
    requests[#requests + 1] = wrk.format("GET", "/api/milestones?projectId=" .. project_id)
  end
  next_index = thread_number % #requests + 1
end

function request()
  local this = requests[next_index]
  next_index = next_index % #requests + 1
  return this
end
