-- wrk script: send N requests (default 16; `-- N` after the URL) back to back on each
-- connection, then read N responses; wrk counts each response as one request.
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
