// pulumi-language-nodejs, a test stand-in: the language host the pulumi CLI starts for a `runtime: nodejs`
// project (TypeScript or JavaScript), which no registry we reach serves. Built by scripts/build-pulumi next to
// the CLI.
//
// It does what the real host does (sdk/nodejs/cmd/pulumi-language-nodejs/main.go) for an npm project, with the
// same library code: `Run` starts `node @pulumi/pulumi/cmd/run` (the program runner of the project's own
// @pulumi/pulumi, which loads TypeScript through ts-node when PULUMI_NODEJS_TYPESCRIPT is set, as the real host
// sets it unless the `typescript` option is false) with the same flags and PULUMI_CONFIG /
// PULUMI_CONFIG_SECRET_KEYS; InstallDependencies, Link and GetProgramDependencies use the SDK's package managers
// (github.com/pulumi/pulumi/sdk/v3/nodejs/npm); GeneratePackage the CLI's Node.js code generator
// (github.com/pulumi/pulumi/pkg/v3/codegen/nodejs); GetRequiredPackages lists the provider packages in
// node_modules. Left out, as the stand-in's users need none of it: the real host's monitor proxy and
// synchronous-invoke pipes (the runner talks to the engine's monitor itself; `--sync` is optional), the bun
// runtime, `nodeargs`, Node.js plugins and policy packs, debugger attachment, `pulumi new`, program conversion
// and `package publish` (they answer why, or Unimplemented).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/clerk-hasura/language-host/hostkit"
	"github.com/pulumi/pulumi/pkg/v3/codegen/cgstrings"
	codegen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// runner is the program runner in @pulumi/pulumi, resolved from the program's folder as Node resolves it.
const runner = "@pulumi/pulumi/cmd/run"

type host struct {
	hostkit.Base
}

func main() {
	h := &host{}
	hostkit.Serve("pulumi-language-nodejs", &h.Base, h)
}

// options are the Pulumi.yaml runtime options the stand-in honours (parseOptions in the real host).
type options struct {
	typescript     bool
	tsconfig       string
	packageManager npm.PackageManagerType
	production     bool
}

func optionsOf(info *pulumirpc.ProgramInfo) (options, error) {
	opts := options{typescript: true, packageManager: npm.AutoPackageManager}
	for name, value := range info.GetOptions().AsMap() {
		var ok bool
		switch name {
		case "typescript":
			opts.typescript, ok = value.(bool)
		case "production":
			opts.production, ok = value.(bool)
		case "tsconfig":
			opts.tsconfig, ok = value.(string)
		case "packagemanager":
			var manager string
			manager, ok = value.(string)
			opts.packageManager = npm.PackageManagerType(manager)
			ok = ok && (manager == "auto" || manager == "npm" || manager == "yarn" || manager == "pnpm")
		default:
			return opts, fmt.Errorf("the runtime option %q in Pulumi.yaml is not supported by the stand-in Node.js "+
				"language host (it knows typescript, tsconfig, packagemanager and production): remove it", name)
		}
		if !ok {
			return opts, fmt.Errorf("the runtime option %q in Pulumi.yaml is %v: typescript and production take "+
				"true or false, tsconfig a path, packagemanager one of auto, npm, yarn or pnpm", name, value)
		}
	}
	return opts, nil
}

// GetRequiredPackages lists the packages in the program's node_modules whose package.json says
// `"pulumi": {"resource": true}` (the SDKs of provider packages, generated ones included), so the engine knows the
// plugins the program needs before it runs. The real host walks node_modules recursively; the stand-in reads the
// top level and its @scopes, where npm puts a program's direct dependencies. GetRequiredPlugins, the older form the
// engine falls back to, answers Unimplemented, as in the real host.
func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	nodeModules := filepath.Join(req.GetInfo().GetProgramDirectory(), "node_modules")
	manifests, _ := filepath.Glob(filepath.Join(nodeModules, "*", "package.json"))
	scoped, _ := filepath.Glob(filepath.Join(nodeModules, "@*", "*", "package.json"))
	var packages []*pulumirpc.PackageDependency
	for _, manifest := range append(manifests, scoped...) {
		data, err := os.ReadFile(manifest)
		if err != nil {
			return nil, err
		}
		var info struct {
			Name    string                  `json:"name"`
			Version string                  `json:"version"`
			Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
		}
		if err := json.Unmarshal(data, &info); err != nil {
			return nil, fmt.Errorf("reading %s: %w", manifest, err)
		}
		if !info.Pulumi.Resource {
			continue
		}
		dependency, err := packageDependency(info.Name, info.Version, info.Pulumi)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", manifest, err)
		}
		packages = append(packages, dependency)
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// packageDependency is the plugin a provider SDK's package.json names (getPackageInfo in the real host): its
// `pulumi.name`, else the package's name in the @pulumi scope; its `pulumi.version`, else the package's version.
func packageDependency(name, version string, pulumi plugin.PulumiPluginJSON) (*pulumirpc.PackageDependency, error) {
	pluginName := pulumi.Name
	if pluginName == "" {
		if !strings.HasPrefix(name, "@pulumi/") {
			return nil, fmt.Errorf("the third-party package %q has no \"pulumi\": {\"name\": ...} naming its plugin",
				name)
		}
		pluginName = strings.TrimPrefix(name, "@pulumi/")
	}
	pluginVersion := hostkit.FirstNonEmpty(pulumi.Version, version)
	if pluginVersion == "" {
		return nil, errors.New("no version in the package or its \"pulumi\" section")
	}
	if !strings.HasPrefix(pluginVersion, "v") {
		pluginVersion = "v" + pluginVersion
	}
	dependency := &pulumirpc.PackageDependency{Name: pluginName, Kind: "resource", Version: pluginVersion,
		Server: pulumi.Server}
	if p := pulumi.Parameterization; p != nil {
		dependency.Parameterization = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version,
			Value: p.Value}
	}
	return dependency, nil
}

// Run starts the program's runner: `node <@pulumi/pulumi/cmd/run> --monitor ... <entry point> [args]` in the
// program's folder, with this process's stdout and stderr (which the engine streams to the user).
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	opts, err := optionsOf(info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "node is not on PATH: install Node.js 20 or newer"}, nil
	}
	runPath, err := resolveRunner(ctx, node, info.GetProgramDirectory())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	config, err := runnerConfig(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...))
	if err != nil {
		return nil, fmt.Errorf("serializing the secret configuration keys: %w", err)
	}

	args := []string{runPath}
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", h.EngineAddress)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", info.GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", info.GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", fmt.Sprint(req.GetParallel()))
	args = append(args, hostkit.FirstNonEmpty(info.GetEntryPoint(), "."))
	args = append(args, req.GetArgs()...)

	env := append(os.Environ(), "PULUMI_CONFIG="+config, "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = info.GetProgramDirectory()
	cmd.Env = env
	// Node may make its stdout non-blocking; a writer that is not an *os.File keeps that off this process's.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	return hostkit.RunResponse(cmd.Run(), node+" "+runPath), nil
}

// resolveRunner finds the runner in the @pulumi/pulumi the program's folder resolves (locateModule in the real
// host).
func resolveRunner(ctx context.Context, node, programDirectory string) (string, error) {
	cmd := exec.CommandContext(ctx, node, "-e", fmt.Sprintf("console.log(require.resolve(%q))", runner))
	cmd.Dir = programDirectory
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s cannot be found from %s: add @pulumi/pulumi to the program's package.json "+
			"dependencies and run `pulumi install`", runner, programDirectory)
	}
	return strings.TrimSpace(string(out)), nil
}

// runnerConfig is the configuration as the runner reads it from PULUMI_CONFIG: keys in the `<namespace>:config:<name>`
// form, which every @pulumi/pulumi reads (constructConfig in the real host).
func runnerConfig(values map[string]string) (string, error) {
	transformed := make(map[string]string, len(values))
	for key, value := range values {
		parsed, err := config.ParseKey(key)
		if err != nil {
			return "", err
		}
		transformed[parsed.Namespace()+":config:"+parsed.Name()] = value
	}
	data, err := json.Marshal(transformed)
	return string(data), err
}

// InstallDependencies runs the package manager's install in the program's folder, streaming its output to the CLI:
// `pulumi install`, and `package add` after Link.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	opts, err := optionsOf(req.GetInfo())
	if err != nil {
		return err
	}
	return hostkit.InstallDependencies(req, server, func(ctx context.Context, stdout, stderr io.Writer) error {
		_, err := npm.Install(ctx, opts.packageManager, req.GetInfo().GetProgramDirectory(), opts.production,
			stdout, stderr)
		return err
	})
}

// GeneratePackage writes the Node.js SDK of a schema (`pulumi package gen-sdk --language nodejs`, and `package add`
// into a Node.js project, which asks for a local SDK: one that compiles itself with tsc when installed).
func (h *host) GeneratePackage(_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return hostkit.GeneratePackage(req, func(pkg *schema.Package, loader schema.ReferenceLoader,
	) (map[string][]byte, error) {
		return codegen.GeneratePackage("pulumi-language-nodejs", pkg, req.GetExtraFiles(),
			req.GetLocalDependencies(), req.GetLocal(), loader)
	})
}

// Link makes generated SDKs dependencies of the program (`package add`): the package manager adds each SDK's
// folder to package.json under the SDK's npm name (the schema's `language.nodejs.packageName`, else
// `@<namespace>/<name>` or `@pulumi/<name>`); the CLI's next call, InstallDependencies, installs it.
func (h *host) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	opts, err := optionsOf(req.GetInfo())
	if err != nil {
		return nil, err
	}
	programDirectory := req.GetInfo().GetProgramDirectory()
	manager, err := npm.ResolvePackageManager(opts.packageManager, programDirectory)
	if err != nil {
		return nil, err
	}
	client, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	loader := schema.NewCachedLoader(client)

	var imports strings.Builder
	for _, dependency := range req.GetPackages() {
		ref, pkg, err := hostkit.LinkedPackage(ctx, loader, dependency.GetPackage(), "nodejs", codegen.Importer)
		if err != nil {
			return nil, err
		}
		packageName := "@pulumi/" + pkg.Name
		if pkg.Namespace != "" {
			packageName = "@" + pkg.Namespace + "/" + pkg.Name
		}
		if info, ok := pkg.Language["nodejs"].(codegen.NodePackageInfo); ok && info.PackageName != "" {
			packageName = info.PackageName
		}
		if err := manager.Link(ctx, programDirectory, packageName, dependency.GetPath()); err != nil {
			return nil, fmt.Errorf("adding %s to %s: %w", packageName, filepath.Join(programDirectory, "package.json"),
				err)
		}
		fmt.Fprintf(&imports, "  import * as %s from %q;\n", cgstrings.Camel(ref.Name()), packageName)
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "You can import the SDK in your TypeScript code with:\n\n" + imports.String(),
	}, nil
}

// GetProgramDependencies lists the program's npm dependencies (`pulumi about`), from the package manager's lock file.
func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := optionsOf(req.GetInfo())
	if err != nil {
		return nil, err
	}
	manager, err := npm.ResolvePackageManager(opts.packageManager, req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	installed, err := manager.ListPackages(ctx, req.GetInfo().GetProgramDirectory(), req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("listing the program's npm dependencies: %w", err)
	}
	dependencies := make([]*pulumirpc.DependencyInfo, 0, len(installed))
	for _, dependency := range installed {
		dependencies = append(dependencies, &pulumirpc.DependencyInfo{Name: dependency.Name,
			Version: dependency.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: dependencies}, nil
}

// About names the node that runs programs and its version (`pulumi about`).
func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH: install Node.js 20 or newer")
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", node, err)
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

// RunPlugin would run a plugin written for Node.js (a provider or policy pack with `runtime: nodejs`); the
// stand-in exists for Node.js programs, whose component packages are Python.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, _ pulumirpc.LanguageRuntime_RunPluginServer) error {
	return fmt.Errorf("the stand-in Node.js language host runs programs, not Node.js plugins (%s in %s)",
		hostkit.FirstNonEmpty(req.GetKind(), "plugin"), req.GetInfo().GetProgramDirectory())
}
