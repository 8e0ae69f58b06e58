// Command etcd runs the upstream etcd server; the module exists only so the
// local cluster can build etcd from the Go module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
