// Command pulumi-resource-docker is a test stand-in for the Docker provider plugin 5.2.0: the Terraform Docker
// provider served through the Pulumi bridge (see scripts/build-docker-provider).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"clerk-hasura/docker-provider/providerinfo"
)

// Written by pulumi-tfgen-docker from the same provider info just before this binary is built.
//
//go:embed schema.json
var schema []byte

func main() {
	tfbridge.Main("docker", providerinfo.Version, providerinfo.Provider(), schema)
}
