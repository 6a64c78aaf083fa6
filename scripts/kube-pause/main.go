// The pod sandbox ("pause") container of the node-ful test cluster (scripts/kube-cluster): it holds a pod's
// namespaces open, reaps the zombies of containers sharing its PID namespace, and exits on SIGINT/SIGTERM, which is
// all registry.k8s.io/pause does. Built statically by scripts/build-kubernetes and packed as an OCI archive, because
// no image registry is reachable here.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for received := range signals {
		if received != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
