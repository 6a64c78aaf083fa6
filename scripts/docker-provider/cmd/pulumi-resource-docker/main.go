// Command pulumi-resource-docker is a test stand-in for the Docker provider plugin 5.2.0: the Terraform Docker
// provider served through the Pulumi bridge (see scripts/build-docker-provider).
package main

import (
	"context"
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"clerk-hasura/docker-provider/providerinfo"
)

// Written by pulumi-tfgen-docker from the same provider info just before this binary is built.
//
//go:embed schema.json
var schema []byte

// Serves the bridged provider as tfbridge.Main does, wrapped so that Configure reaches the Docker daemon.
func main() {
	ctx := context.Background()
	info := providerinfo.Provider()
	info.P.InitLogging(ctx)
	err := provider.Main(info.Name, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		bridged := tfbridge.NewProvider(ctx, host, info.Name, providerinfo.Version, info.P, info, schema)
		return daemonCheckingProvider{ResourceProviderServer: bridged, tf: info.P}, nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}
