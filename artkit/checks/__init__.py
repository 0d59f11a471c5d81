"""The conformance checks, one module per kind of component; import them from :mod:`artkit.conformance`."""
