// pulumi-language-python, a test stand-in: the language host the pulumi CLI starts for a `runtime: python`
// project. No registry we reach serves the real one (users get it with the pulumi CLI), and the tests and
// scripts/deploy run the CLI's own `pulumi preview` / `pulumi up`, which need one. Built by scripts/build-pulumi
// next to the CLI.
//
// It does what the real host does for a pip-toolchain project with a `virtualenv` option (read from the
// LanguageRuntime service in github.com/pulumi/pulumi/sdk/v3/proto/go and the real host,
// sdk/python/cmd/pulumi-language-python): print the port of its gRPC server on stdout, and for `Run` start the
// SDK's own `pulumi-language-python-exec` with the virtualenv's Python, passing the program, the engine's
// monitor and engine addresses, project, stack, organization, dry-run and parallelism as flags, and the
// configuration and its secret keys as PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS. The program's stdout and
// stderr are this process's, which the engine streams to the user. packages.go adds what component packages need
// (plugins, dependency installation, SDK generation, linking); the rest (`pulumi new`, `pulumi about`, program
// conversion) answers Unimplemented.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/clerk-hasura/language-host/hostkit"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// execShim is the SDK's Python script that configures the runtime and runs the program (sdk/python/cmd).
const execShim = "pulumi-language-python-exec"

type host struct {
	hostkit.Base
}

func main() {
	h := &host{}
	hostkit.Serve("pulumi-language-python", &h.Base, h)
}

// GetRequiredPlugins and GetRequiredPackages list nothing: the real host lists the pulumi-* Python packages that
// ship a plugin so the engine can install them ahead of time; without that list the engine loads an installed
// provider plugin when the program first registers one of its resources, which is all a test needs (plugin
// downloads are off there anyway).
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	rootDirectory := hostkit.FirstNonEmpty(info.GetRootDirectory(), h.RootDirectory, req.GetPwd())
	programDirectory := hostkit.FirstNonEmpty(info.GetProgramDirectory(), rootDirectory)
	program := hostkit.FirstNonEmpty(info.GetEntryPoint(), req.GetProgram(), ".")
	if !filepath.IsAbs(program) {
		program = filepath.Join(programDirectory, program)
	}

	python, environment, err := pythonFor(rootDirectory, info.GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	shim, err := findExecShim()
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	config, err := json.Marshal(nonNilMap(req.GetConfig()))
	if err != nil {
		return nil, fmt.Errorf("serializing the configuration: %w", err)
	}
	secretKeys, err := json.Marshal(nonNilSlice(req.GetConfigSecretKeys()))
	if err != nil {
		return nil, fmt.Errorf("serializing the secret configuration keys: %w", err)
	}

	args := []string{"-u", shim}
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", h.EngineAddress)
	flag("project", req.GetProject())
	flag("root_directory", rootDirectory)
	flag("stack", req.GetStack())
	flag("pwd", req.GetPwd())
	flag("dry_run", fmt.Sprintf("%v", req.GetDryRun()))
	flag("parallel", fmt.Sprint(req.GetParallel()))
	flag("organization", req.GetOrganization())
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = hostkit.FirstNonEmpty(req.GetPwd(), programDirectory)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(environment, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	return hostkit.RunResponse(cmd.Run(), python+" "+shim), nil
}

// pythonFor returns the interpreter that runs the program and the environment to run it in: the `virtualenv`
// runtime option of Pulumi.yaml (relative to the project root) when set, as the real host does, otherwise
// PULUMI_PYTHON_CMD or python3 from PATH.
func pythonFor(rootDirectory string, options map[string]any) (string, []string, error) {
	environment := os.Environ()
	virtualenv, _ := options["virtualenv"].(string)
	if virtualenv == "" {
		return hostkit.FirstNonEmpty(os.Getenv("PULUMI_PYTHON_CMD"), "python3"), environment, nil
	}
	if !filepath.IsAbs(virtualenv) {
		virtualenv = filepath.Join(rootDirectory, virtualenv)
	}
	python := filepath.Join(virtualenv, "bin", "python")
	if _, err := os.Stat(python); err != nil {
		return "", nil, fmt.Errorf("the 'virtualenv' option in Pulumi.yaml is %q, but %s does not exist: create it "+
			"(python3 -m venv %s, then %s -m pip install -e .; scripts/deploy does both)",
			options["virtualenv"], python, virtualenv, python)
	}
	// What activating the virtualenv does: its bin first on PATH, VIRTUAL_ENV set, no PYTHONHOME.
	kept := environment[:0:0]
	for _, entry := range environment {
		if !strings.HasPrefix(entry, "PYTHONHOME=") && !strings.HasPrefix(entry, "PATH=") &&
			!strings.HasPrefix(entry, "VIRTUAL_ENV=") {
			kept = append(kept, entry)
		}
	}
	kept = append(kept, "VIRTUAL_ENV="+virtualenv,
		"PATH="+filepath.Join(virtualenv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	return python, kept, nil
}

// findExecShim looks next to this binary first (scripts/build-pulumi installs both in one directory), then on
// PATH, as the real host does.
func findExecShim() (string, error) {
	if self, err := os.Executable(); err == nil {
		candidate := filepath.Join(filepath.Dir(self), execShim)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
	}
	path, err := exec.LookPath(execShim)
	if err != nil {
		return "", fmt.Errorf("%s is neither next to pulumi-language-python nor on PATH: run scripts/build-pulumi, "+
			"which installs it from the Pulumi SDK", execShim)
	}
	return path, nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
