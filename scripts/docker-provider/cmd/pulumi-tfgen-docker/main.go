// Command pulumi-tfgen-docker writes the Pulumi schema of the stand-in Docker provider
// (`pulumi-tfgen-docker schema --out DIR`), which pulumi-resource-docker embeds.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"clerk-hasura/docker-provider/providerinfo"
)

func main() {
	tfgen.Main("docker", providerinfo.Version, providerinfo.Provider())
}
