"""Mesh backends: what is specific to one kind of control plane (shared/design/architecture.md,
"Backends"). The Maistra code still lives in meshgen/plan/ and moves to backends/ossm2/ later."""
