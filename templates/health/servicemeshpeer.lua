-- Health of a federation.maistra.io ServiceMeshPeer, written by meshgen.
-- istiod writes one discoveryStatus entry per pod; a pod is "active" while its watch of
-- the peer is connected. Connected is Healthy; a watch that was connected and dropped is
-- Degraded (with the reason istiod recorded); never connected yet is Progressing, since
-- the peer converges only once the other cluster is up too.
local hs = {status = "Progressing", message = "Waiting for istiod to connect to the peer"}
if obj.status == nil or obj.status.discoveryStatus == nil then
  return hs
end
local discovery = obj.status.discoveryStatus
local connected = 0
local pods = 0
for _, pod in ipairs(discovery.active or {}) do
  pods = pods + 1
  if pod.watch ~= nil and pod.watch.connected then
    connected = connected + 1
  end
end
if connected > 0 then
  hs.status = "Healthy"
  hs.message = "Connected to the peer from " .. connected .. " istiod pod(s)"
  return hs
end
for _, pod in ipairs(discovery.inactive or {}) do
  pods = pods + 1
  local watch = pod.watch
  if watch ~= nil and watch.lastDisconnect ~= nil then
    hs.status = "Degraded"
    hs.message = "Disconnected from the peer since " .. watch.lastDisconnect
    if watch.lastDisconnectStatus ~= nil and watch.lastDisconnectStatus ~= "" then
      hs.message = hs.message .. ": " .. watch.lastDisconnectStatus
    end
    return hs
  end
end
if pods > 0 then
  hs.message = "istiod has not connected to the peer yet"
end
return hs
