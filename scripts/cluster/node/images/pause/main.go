// The pod sandbox's process (what registry.k8s.io/pause is): holds the pod's namespaces, reaps
// orphans when it is PID 1 of a shared PID namespace, exits on SIGINT/SIGTERM. Built static
// (CGO_ENABLED=0) because its image has nothing else.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
