"""Helpers shared by the test files, which never import one another.

- `virtual`: running a coroutine in virtual time (`run_virtual`).
- `fakes`: endpoints that stand in for a server (`CountingEndpoint`).
- `reference`: independent implementations that results are checked against.
- `lag`: watching the event loop's lag, for the tests that must run on the real clock.
- `sim_app`: a `SimApp` served in the test's own run, the app at hand (`serving`).
"""
