// What `pulumi package add <folder>`, `pulumi package gen-sdk --language python` and a `runtime: python` plugin
// (a component provider: PulumiPlugin.yaml + __main__.py calling component_provider_host) ask of the Python
// language host, done as the real host does it (sdk/python/cmd/pulumi-language-python/main.go: InstallDependencies,
// RunPlugin, GeneratePackage, Link) with the same library code: the SDK's Python toolchain
// (github.com/pulumi/pulumi/sdk/v3/python/toolchain) for virtualenvs, pip and requirements.txt, and the CLI's
// Python code generator (github.com/pulumi/pulumi/pkg/v3/codegen/python) for SDKs. Left out, as the stand-in's
// users need none of it: poetry/uv specifics, pyproject-only plugins (`python -m pulumi.run.plugin`), policy packs,
// debugger attachment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/clerk-hasura/language-host/hostkit"
	codegen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// toolchainFor reads the `toolchain` and `virtualenv` runtime options (parseOptions in the real host). A plugin
// without a `virtualenv` option gets `venv` in its own folder: the real host never runs plugins with the ambient
// Python, and `package add` creates that virtualenv through InstallDependencies before it runs the plugin.
func toolchainFor(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.Toolchain, toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	options := info.GetOptions().AsMap()
	if value, ok := options["virtualenv"]; ok {
		virtualenv, isString := value.(string)
		if !isString {
			return nil, opts, errors.New("virtualenv option must be a string")
		}
		opts.Virtualenv = virtualenv
	}
	switch options["toolchain"] {
	case nil, "pip":
		opts.Toolchain = toolchain.Pip
	default:
		return nil, opts, fmt.Errorf("the stand-in Python language host supports only the pip toolchain, not %v",
			options["toolchain"])
	}
	if isPlugin && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	tc, err := toolchain.ResolveToolchain(opts)
	return tc, opts, err
}

// InstallDependencies creates the virtualenv when missing and pip-installs requirements.txt into it, streaming
// pip's output to the CLI: `pulumi install`, `package add` (for the plugin, then for the project it links an SDK
// into) and the first run of a plugin call it.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	tc, _, err := toolchainFor(req.GetInfo(), req.GetIsPlugin())
	if err != nil {
		return err
	}
	return hostkit.InstallDependencies(req, server, func(ctx context.Context, stdout, stderr io.Writer) error {
		return tc.InstallDependencies(ctx, req.GetInfo().GetProgramDirectory(), req.GetUseLanguageVersionTools(),
			true /* showOutput */, stdout, stderr)
	})
}

// RunPlugin runs a Python plugin: `python <plugin folder> <engine address> [flags]` with the plugin's virtualenv,
// in the engine's working directory, its stdout (the provider's port) and stderr streamed back to the engine, and
// the environment the engine adds (req.Env) on top of this host's.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	if req.GetKind() == "analyzer" {
		return errors.New("the stand-in Python language host does not run policy packs")
	}
	tc, _, err := toolchainFor(req.GetInfo(), true)
	if err != nil {
		return err
	}
	programDirectory := req.GetInfo().GetProgramDirectory()
	if _, err := os.Stat(filepath.Join(programDirectory, "__main__.py")); err != nil {
		return fmt.Errorf("the plugin in %s has no __main__.py (pyproject-only plugins run with "+
			"`python -m pulumi.run.plugin`, which the stand-in does not do): %w", programDirectory, err)
	}
	cmd, err := tc.Command(server.Context(), append([]string{programDirectory}, req.GetArgs()...)...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd.Dir = req.GetPwd()
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
			})
		}
		return fmt.Errorf("could not start the Python plugin in %s: %w", programDirectory, err)
	}
	return closer.Close()
}

// GeneratePackage writes the Python SDK of a schema (`pulumi package gen-sdk --language python`, and `package
// add` into a Python project), binding the schema with the engine's schema loader for referenced packages.
func (h *host) GeneratePackage(_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return hostkit.GeneratePackage(req, func(pkg *schema.Package, loader schema.ReferenceLoader,
	) (map[string][]byte, error) {
		return codegen.GeneratePackage("pulumi-language-python", pkg, req.GetExtraFiles(), loader)
	})
}

// Link makes generated SDKs dependencies of a project (`package add`): with pip, their folders become lines of
// requirements.txt, which the CLI's next call, InstallDependencies, installs. The import name is the schema's
// `language.python.packageName` or the package name with dashes as underscores, as in the real host.
func (h *host) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	tc, _, err := toolchainFor(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	client, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	loader := schema.NewCachedLoader(client)

	packages := map[string]string{} // Python distribution name -> SDK folder, relative to the project
	var imports strings.Builder
	for _, dependency := range req.GetPackages() {
		descriptor := dependency.GetPackage()
		if descriptor.GetName() == "pulumi" {
			packages["pulumi"] = dependency.GetPath()
			continue
		}
		ref, pkg, err := hostkit.LinkedPackage(ctx, loader, descriptor, "python", codegen.Importer)
		if err != nil {
			return nil, err
		}
		importName := strings.ReplaceAll(ref.Name(), "-", "_")
		packageName := codegen.PyPack(ref.Namespace(), ref.Name())
		if info, ok := pkg.Language["python"].(codegen.PackageInfo); ok && info.PackageName != "" {
			importName, packageName = info.PackageName, info.PackageName
		}
		packages[packageName] = dependency.GetPath()
		fmt.Fprintf(&imports, "  import %s as %s\n", packageName, importName)
	}
	if err := tc.LinkPackages(ctx, packages); err != nil {
		return nil, fmt.Errorf("linking packages: %w", err)
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "You can import the SDK in your Python code with:\n\n" + imports.String(),
	}, nil
}
