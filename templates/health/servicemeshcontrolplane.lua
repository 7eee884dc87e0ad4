-- Health of a maistra.io ServiceMeshControlPlane, written by meshgen from what the operator
-- writes (maistra/istio-operator maistra-2.5, pkg/controller/servicemesh/controlplane/
-- reconciler.go, status.go, readiness.go, deleter.go):
-- * an error reason on Reconciled (or on Ready, which mirrors it until a reconcile
--   succeeds) is Degraded whatever the condition's status ("ErrMultipleSMCPs" keeps
--   Unknown) and whatever observedGeneration says: the operator writes observedGeneration
--   only after a successful reconcile, so a failed install or update never catches up;
-- * otherwise the latest generation not yet reconciled is Progressing;
-- * Ready=True for it is Healthy; anything else is Progressing, with the operator's message.
local hs = {status = "Progressing", message = "Waiting for the operator to reconcile the control plane"}
local errors = {ReconcileError = true, InstallError = true, ValidationError = true,
                DependencyMissingError = true, DeletionError = true, ErrMultipleSMCPs = true}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local found = {}
for _, condition in ipairs(obj.status.conditions) do
  found[condition.type] = condition
end
for _, kind in ipairs({"Reconciled", "Ready", "Installed"}) do
  local condition = found[kind]
  if condition ~= nil and condition.status ~= "True" and errors[condition.reason] then
    hs.status = "Degraded"
    hs.message = kind .. ": " .. (condition.message or condition.reason)
    return hs
  end
end
local ready = found["Ready"]
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  local progress = found["Reconciled"] or ready
  hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation)
  if progress ~= nil and progress.message ~= nil then
    hs.message = hs.message .. ": " .. progress.message
  end
  return hs
end
if ready ~= nil then
  if ready.status == "True" then
    hs.status = "Healthy"
  end
  hs.message = ready.message or ready.reason or hs.message
end
return hs
