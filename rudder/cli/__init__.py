"""The `rudder` command line (see docs/cli.md).

`main` dispatches to one module per verb (`deploy` holds install and upgrade). The shared pieces:
`chartsource` (chart directory + values flags -> Release body), `rendering` (the controller's renderer,
offline), `releases` (reading and writing Releases through rudder.kube), `waiting` and `progress` (--wait),
`connection` (kubeconfig, namespace), `output` (tables, JSON/YAML) and `errors` (one-line errors).
`kubectl-canary` (canary.cli) reuses the shared pieces.
"""
