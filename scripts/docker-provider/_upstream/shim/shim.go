// Package shim is added to a copy of github.com/kreuzwerker/terraform-provider-docker by
// scripts/build-docker-provider: the provider lives in internal/, which no other module may import.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"

	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the provider's SDKv2 half, which holds every resource the Pulumi SDK maps.
func NewProvider(version string) *schema.Provider {
	return provider.New(version)()
}
