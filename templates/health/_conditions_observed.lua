{#- Shared by the Sail checks (Istio, IstioCNI): Progressing until the operator has written
    conditions for the object's latest generation. (Argo CD runs each check as a chunk of its
    own, so the lines are included, not called.) #}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end
