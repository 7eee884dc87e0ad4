-- Health of a sailoperator.io IstioCNI, written by meshgen from the Sail status types
-- (istio-ecosystem/sail-operator api/v1/istiocni_types.go): state Healthy is Healthy; a
-- Reconciled=False condition is Degraded; anything else not yet True (a remote waiting
-- for its primary's istiod, RemoteIstiodNotReady; an Istio waiting for IstioCNI,
-- IstioCNINotFound) stays Progressing, so a remote synced before its primary is not failed.
local hs = {status = "Progressing", message = "Waiting for the Sail operator"}
{% include "health/_sail_state.lua" %}
