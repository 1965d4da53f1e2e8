-- POST a new milestone. Arguments: the project to create them in, a nonce unique to this run.

local thread_total = 0
function setup(thread)
  thread:set("thread_number", thread_total)
  thread_total = thread_total + 1
end

local headers = { ["Content-Type"] = "application/json" }
local project_id, nonce
local counter = 0

function init(args)
  project_id, nonce = args[1], args[2]
end

function request()
  counter = counter + 1
  -- The same fields, of the same sizes, as the seeded milestones.
  local body = string.format(
    '{"projectId":"%s","title":"Posted %s-%d-%d","description":"Created by the benchmark: '
      .. 'scope agreed, work planned, review booked with the stakeholders.",'
      .. '"status":"pending","dueDate":"2026-06-15T00:00:00Z"}',
    project_id, nonce, thread_number, counter)
  return wrk.format("POST", "/api/milestones", headers, body)
end
