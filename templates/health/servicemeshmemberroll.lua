-- Health of a maistra.io ServiceMeshMemberRoll, written by meshgen.
-- Ready=True is Healthy; Ready=False is Progressing while the control plane is still
-- reconciling and Degraded for the operator's error reasons.
local hs = {status = "Progressing", message = "Waiting for the operator to configure the members"}
local errors = {ReconcileError = true, ErrSMCPMissing = true, ErrMultipleSMCPs = true,
                ErrInvalidName = true}
{% include "health/_conditions_observed.lua" %}
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
