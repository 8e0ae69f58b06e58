"""Scale benchmark of the Release controller in Flux's MTTP format (bench/scale, issue 12).

`python -m bench.scale --releases 100 --variant polling="python -m rudder.controller --controllers release"`
starts its own local cluster (RUDDER_CLUSTER=bench), then for every N and every controller variant creates N
Releases at once (one ConfigMap, one 1-replica Deployment, one headless Service each) and measures the time
until 50%/90%/100% are Ready, the controller's peak RSS and CPU seconds, its API requests and CPU over an idle
window, its writes in that window, and the time to uninstall them all. It prints a markdown table (and one of
ratios to the first variant when several run) and stops the cluster.
"""
