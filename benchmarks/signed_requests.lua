-- wrk script: replays pre-signed, distinct provider requests from a file, one line per request:
--   path <TAB> counterparty <TAB> timestamp <TAB> request id <TAB> signature <TAB> body
-- Each wrk thread takes every Nth line, so no two requests share an X-Request-Id.
local counter = 0

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

function init(args)
  local file, threads = args[1], tonumber(args[2])
  -- wrk calls request() once per thread to probe the script and never sends that one: give it a throwaway.
  requests = {wrk.format("GET", "/__admin/health")}
  local i = 0
  for line in io.lines(file) do
    if i % threads == thread_index then
      local path, cp, ts, rid, sign, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["X-Counterparty-Id"] = cp, ["X-Timestamp"] = ts, ["X-Request-Id"] = rid, ["X-Sign"] = sign,
        ["Content-Type"] = "application/json",
      }, body)
    end
    i = i + 1
  end
  position = 0
end

function request()
  position = position + 1
  if position > #requests then
    position = 1 -- ran out: replays are rejected (401) and show up as non-2xx responses
  end
  return requests[position]
end
