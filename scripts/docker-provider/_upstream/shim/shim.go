// Package shim is added to a copy of github.com/kreuzwerker/terraform-provider-docker by
// scripts/build-docker-provider: the provider lives in internal/, which no other module may import.
package shim

import (
	"context"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"

	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the provider's SDKv2 half, which holds every resource the Pulumi SDK maps.
func NewProvider(version string) *schema.Provider {
	return provider.New(version)()
}

// DaemonHost is the address of the Docker daemon a configured provider (its meta) talks to.
func DaemonHost(meta interface{}) string {
	return meta.(*provider.ProviderConfig).DefaultConfig.Host
}

// Connect points a configured provider (its meta) at the daemon at host and pings it with the client its resources
// will use (the provider's TLS and SSH settings; it keeps the client once the ping is answered).
func Connect(ctx context.Context, meta interface{}, host string) error {
	config := meta.(*provider.ProviderConfig)
	config.DefaultConfig.Host = host
	_, err := config.MakeClient(ctx, nil)
	return err
}
