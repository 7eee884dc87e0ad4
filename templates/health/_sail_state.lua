{#- Shared by the Sail checks (Istio, IstioCNI): the verdict from status.state and the
    Reconciled condition, once the conditions are current. #}
{% include "health/_conditions_observed.lua" %}
if obj.status.state == "Healthy" then
  hs.status = "Healthy"
  hs.message = "Healthy"
  return hs
end
for _, condition in ipairs(obj.status.conditions) do
  if condition.status == "False" then
    hs.message = condition.type .. "/" .. (condition.reason or "") .. ": " .. (condition.message or "")
    if condition.type == "Reconciled" then
      hs.status = "Degraded"
      return hs
    end
  end
end
return hs
