-- Health of a federation.maistra.io ServiceMeshPeer, written by meshgen from what istiod
-- writes (maistra/istio maistra-2.5, pkg/servicemesh/federation/status/handler.go): each
-- istiod pod keeps one entry, under discoveryStatus.active while its watch of the peer is
-- connected and under inactive otherwise. A connect attempt sets watch.lastConnected; a
-- failed or dropped watch sets lastDisconnectStatus, and lastDisconnect only if it had
-- been connected. Only the leader prunes the entries of deleted pods, later.
-- * every entry connected: Healthy;
-- * some connected, some not: Progressing (a pod is still connecting, or a dead pod's
--   entry waits for the leader to prune it);
-- * none connected: Degraded once a watch that was connected has been retried and failed
--   again (lastConnected after lastDisconnect), else Progressing with istiod's last error:
--   the peer converges only once the other cluster is up too, and a dead pod's entry
--   after an istiod restart records no retry.
local hs = {status = "Progressing", message = "Waiting for istiod to connect to the peer"}
if obj.status == nil or obj.status.discoveryStatus == nil then
  return hs
end
local discovery = obj.status.discoveryStatus
local connected = 0
for _, pod in ipairs(discovery.active or {}) do
  if pod.watch ~= nil and pod.watch.connected then
    connected = connected + 1
  end
end
local inactive = discovery.inactive or {}
local function describe(pod)
  local watch = pod.watch or {}
  local text = pod.pod
  if watch.lastDisconnect ~= nil then
    text = text .. " disconnected since " .. watch.lastDisconnect
  else
    text = text .. " not connected yet"
  end
  if watch.lastDisconnectStatus ~= nil and watch.lastDisconnectStatus ~= "" then
    text = text .. ": " .. watch.lastDisconnectStatus
  end
  return text
end
if connected > 0 and #inactive == 0 then
  hs.status = "Healthy"
  hs.message = "Connected to the peer from " .. connected .. (connected == 1 and " istiod pod" or " istiod pods")
  return hs
end
if connected > 0 then
  hs.message = connected .. " of " .. (connected + #inactive) .. " istiod pods connected; " .. describe(inactive[1])
  return hs
end
if #inactive == 0 then
  return hs
end
for _, pod in ipairs(inactive) do
  local watch = pod.watch or {}
  if watch.lastDisconnect ~= nil and watch.lastConnected ~= nil and watch.lastConnected > watch.lastDisconnect then
    hs.status = "Degraded"
    hs.message = "Reconnecting failed: " .. describe(pod)
    return hs
  end
end
hs.message = describe(inactive[1])
return hs
