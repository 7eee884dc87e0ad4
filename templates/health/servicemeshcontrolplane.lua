-- Health of a maistra.io ServiceMeshControlPlane, written by meshgen.
-- Ready=True is Healthy; a condition that is False for an error reason is Degraded;
-- anything else (no status yet, installing, updating, components starting) is Progressing.
local hs = {status = "Progressing", message = "Waiting for the operator to reconcile the control plane"}
local errors = {ReconcileError = true, InstallError = true, ValidationError = true,
                DependencyMissingError = true, DeletionError = true}
{% include "health/_conditions_observed.lua" %}
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
