//go:build tools

// Package helm pins the Go module from which the deploy tests build the helm binary that renders
// deploy/charts/aad-pod-identity. Nothing here ships: build.sh builds into a cache outside the repository.
package helm

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
