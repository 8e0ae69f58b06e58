"""Post-render patches (`spec.postRender`): pure, applied to rendered objects before validation.

Kept free of imports from the rest of Rudder except in `apply`, so that `rudder.models` may use
`selectors` and `spec` while parsing a Release spec.
"""
