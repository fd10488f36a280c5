-- Every request from one of 10,000 returning callers, as browsers that keep the proxy's cookie:
-- the caller a flag decision is made for. Applied to every row alike, so that wrk's own cost is
-- the same whichever proxy it loads.
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, { ["Cookie"] = "cutover_caller=c" .. (counter * 7919 % 10000) })
end
