-- Health of a maistra.io ServiceMeshMemberRoll, written by meshgen.
-- Ready=True is Healthy; Ready=False is Progressing while the control plane is still
-- reconciling and Degraded for the operator's error reasons.
local hs = {status = "Progressing", message = "Waiting for the operator to configure the members"}
local errors = {ReconcileError = true, ErrSMCPMissing = true, ErrMultipleSMCPs = true,
                ErrInvalidName = true}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    hs.message = condition.message or condition.reason or hs.message
    if condition.status == "True" then
      hs.status = "Healthy"
    elseif condition.status == "False" and errors[condition.reason] then
      hs.status = "Degraded"
    end
  end
end
return hs
