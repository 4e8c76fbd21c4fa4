"""La Station assembled: the `station` command and `station demo`.

The one composition root. `station/` is the shared core and imports no component;
`edge/`, `collector/` and `api/` import only `station/`; this package wires them.
"""
