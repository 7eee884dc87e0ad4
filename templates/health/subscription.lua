-- Health of an operators.coreos.com Subscription, written by meshgen. It replaces Argo CD's
-- own check (argoproj/argo-cd master, resource_customizations/operators.coreos.com/
-- Subscription/health.lua) for the whole Argo CD instance and keeps its verdicts but one:
-- OLM sets CatalogSourcesUnhealthy=True when any catalog source it considers is unhealthy,
-- not only the Subscription's own (operator-framework/operator-lifecycle-manager master,
-- pkg/controller/operators/catalog/subscription/reconciler.go, updateHealth), so one broken
-- catalog on the cluster would hold every Subscription, and the sync wave, at Degraded.
-- Here it counts only when status.catalogHealth says the Subscription's own source is
-- unhealthy or missing.
local hs = {status = "Progressing", message = "An install plan for a subscription is pending installation"}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local function own_catalog_unhealthy()
  for _, health in ipairs(obj.status.catalogHealth or {}) do
    local ref = health.catalogSourceRef or {}
    if ref.name == obj.spec.source and ref.namespace == obj.spec.sourceNamespace then
      return not health.healthy
    end
  end
  return true
end
local degraded = {}
local pending = nil
for _, condition in ipairs(obj.status.conditions) do
  local text = condition.type .. ": " .. (condition.message or condition.reason or condition.status)
  if condition.type == "InstallPlanPending" and condition.status == "True" then
    pending = text
  elseif condition.type == "InstallPlanMissing" and condition.reason ~= "ReferencedInstallPlanNotFound" then
    table.insert(degraded, text)
  elseif (condition.type == "InstallPlanFailed" or condition.type == "ResolutionFailed") and condition.status == "True" then
    table.insert(degraded, text)
  elseif condition.type == "CatalogSourcesUnhealthy" and condition.status == "True" and own_catalog_unhealthy() then
    table.insert(degraded, text)
  end
end
if #degraded > 0 then
  hs.status = "Degraded"
  hs.message = table.concat(degraded, "; ")
elseif pending ~= nil then
  hs.message = pending
else
  hs.status = "Healthy"
  hs.message = "State: " .. (obj.status.state or "unknown")
end
return hs
