-- Health of a maistra.io ServiceMeshControlPlane, written by meshgen.
-- Ready=True is Healthy; a condition that is False for an error reason is Degraded;
-- anything else (no status yet, installing, updating, components starting) is Progressing.
local hs = {status = "Progressing", message = "Waiting for the operator to reconcile the control plane"}
local errors = {ReconcileError = true, InstallError = true, ValidationError = true,
                DependencyMissingError = true, DeletionError = true}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end
for _, condition in ipairs(obj.status.conditions) do
  if condition.status == "False" and errors[condition.reason] then
    hs.status = "Degraded"
    hs.message = condition.type .. ": " .. (condition.message or condition.reason)
    return hs
  end
end
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    if condition.status == "True" then
      hs.status = "Healthy"
    end
    hs.message = condition.message or condition.reason or hs.message
  end
end
return hs
