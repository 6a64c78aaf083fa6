package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	tfshim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// daemonCheckingProvider is the bridged provider whose Configure also reaches the Docker daemon, as pulumi-docker's
// does (its provider/provider.go Configure calls configureDockerClient in provider/image.go): a dead daemon fails
// the preview there, before any resource, rather than at the first resource the Terraform provider creates.
type daemonCheckingProvider struct {
	pulumirpc.ResourceProviderServer
	tf tfshim.Provider
}

func (p daemonCheckingProvider) Configure(
	ctx context.Context, req *pulumirpc.ConfigureRequest,
) (*pulumirpc.ConfigureResponse, error) {
	configured, err := p.ResourceProviderServer.Configure(ctx, req)
	if err != nil {
		return nil, err
	}
	meta := p.tf.Meta(ctx)
	host := shim.DaemonHost(meta)
	// pulumi-docker leaves SSH hosts unchecked: every client there opens an SSH connection
	// (kreuzwerker/terraform-provider-docker#262).
	if strings.HasPrefix(host, "ssh://") {
		return configured, nil
	}
	hosts := []string{host}
	// With neither docker:host nor DOCKER_HOST set, pulumi-docker also tries the per-user sockets of Docker Desktop
	// ("Adminless install on macOS", https://www.docker.com/blog/docker-desktop-4-18/; and Docker Desktop on Linux).
	if _, set := req.GetArgs().GetFields()["host"]; !set && os.Getenv("DOCKER_HOST") == "" {
		if home, err := os.UserHomeDir(); err == nil {
			hosts = append(hosts, "unix://"+home+"/.docker/run/docker.sock", "unix://"+home+"/.docker/desktop/docker.sock")
		}
	}
	var failures []string
	for _, candidate := range hosts {
		err := shim.Connect(ctx, meta, candidate)
		if err == nil {
			log.Printf("connected to the docker daemon at %s", candidate)
			return configured, nil
		}
		failures = append(failures, err.Error())
	}
	// pulumi-docker's words, then why each host failed (there they go to the plugin's log).
	return nil, fmt.Errorf("failed to connect to any docker daemon: %s", strings.Join(failures, "; "))
}
