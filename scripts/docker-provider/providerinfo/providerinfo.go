// Package providerinfo maps the Terraform Docker provider onto the tokens and property names of the
// pulumi_docker Python SDK 5.2.0, the way pulumi-docker's provider/resources.go does for the resources this
// project uses. Shared by the runtime plugin and the tfgen binary that writes its schema.
package providerinfo

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"

	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Version is the plugin version the pulumi_docker SDK asks the engine for (its pulumi-plugin.json).
const Version = "5.2.0"

func Provider() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:       shimv2.NewProvider(shim.NewProvider(Version)),
		Name:    "docker",
		Version: Version,
		Config: map[string]*tfbridge.SchemaInfo{
			// The Terraform schema marks host required (with a default function); this default keeps the
			// bridge from demanding docker:host when DOCKER_HOST or the usual socket will do.
			"host": {Default: &tfbridge.DefaultInfo{
				EnvVars: []string{"DOCKER_HOST"},
				Value:   "unix:///var/run/docker.sock",
			}},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok: "docker:index/container:Container",
				// A container with a fixed name or host port cannot exist twice while it is replaced.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// A list, but one command: the SDK says `command`, not the bridge's plural `commands`.
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image": {
				Tok:    "docker:index/remoteImage:RemoteImage",
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
			// The bridge's rule would make this docker:index/config:Config, beside the provider's own config.
			"docker_config":  {Tok: "docker:index/serviceConfig:ServiceConfig"},
			"docker_network": {Tok: "docker:index/network:Network"},
			"docker_volume":  {Tok: "docker:index/volume:Volume"},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: "docker:index/getRemoteImage:getRemoteImage"},
		},
	}
	// Everything else gets the bridge's standard tokens (docker_tag -> docker:index/tag:Tag), as in pulumi-docker.
	info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	// An omitted container or network name becomes <resource name>-<random suffix>, as in pulumi-docker.
	info.SetAutonaming(255, "-")
	return info
}
