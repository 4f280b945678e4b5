//go:build tools

// Package controlplane pins the Go modules from which the tests build kube-apiserver and etcd.
// Nothing here ships: the binaries are built into a cache outside the repository by build.sh.
package controlplane

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
)
