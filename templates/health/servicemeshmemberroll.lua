-- Health of a maistra.io ServiceMeshMemberRoll, written by meshgen from what the operator
-- writes (maistra/istio-operator maistra-2.5, pkg/controller/servicemesh/memberroll/
-- controller.go): it reports Ready=False "ReconcileError" with the namespaces in
-- pendingMembers both while they are being configured (after creation, after every
-- control-plane update) and when one can never be (a missing namespace, another control
-- plane's member); the member statuses tell the two apart.
local hs = {status = "Progressing", message = "Waiting for the operator to configure the members"}
local fatal = {ErrSMCPMissing = true, ErrMultipleSMCPs = true, ErrInvalidName = true}
local stuck = {NamespaceNotExists = true, ReferencesDifferentControlPlane = true,
               CreateMemberRollFailed = true}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local ready = nil
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    ready = condition
  end
end
if ready ~= nil and ready.status ~= "True" and fatal[ready.reason] then
  hs.status = "Degraded"
  hs.message = ready.message or ready.reason
  return hs
end
for _, member in ipairs(obj.status.memberStatuses or {}) do
  for _, condition in ipairs(member.conditions or {}) do
    if condition.status == "False" and stuck[condition.reason] then
      hs.status = "Degraded"
      hs.message = member.namespace .. ": " .. (condition.message or condition.reason)
      return hs
    end
  end
end
local generation = obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end
if ready == nil then
  return hs
end
hs.message = ready.message or ready.reason or hs.message
if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.reason == "ReconcileError" and #(obj.status.pendingMembers or {}) == 0 then
  -- nothing pending, yet an error: Kiali or Prometheus could not be configured
  hs.status = "Degraded"
end
return hs
