# The two commands a new user needs; everything else is in scripts/ and deploy/.
.PHONY: demo test cluster-up cluster-down

demo:            ## local cluster + controllers + a demo canary
	scripts/demo.sh

test:            ## the whole test suite (installs what it needs)
	scripts/test.sh

cluster-up:
	deploy/local/cluster.sh up

cluster-down:
	deploy/local/cluster.sh down
