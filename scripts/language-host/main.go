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
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is the CLI release this stand-in was written against (scripts/build-pulumi builds both).
const version = "3.274.1"

// execShim is the SDK's Python script that configures the runtime and runs the program (sdk/python/cmd).
const execShim = "pulumi-language-python-exec"

// userActionableExit is the exit code with which the exec shim says it already showed the user the error
// (PYTHON_PROCESS_EXITED_AFTER_SHOWING_USER_ACTIONABLE_MESSAGE_CODE in the shim): the engine then adds nothing.
const userActionableExit = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	// rootDirectory is where Pulumi.yaml is, from the handshake; RunRequest.Info carries it too.
	rootDirectory string
}

func main() {
	// The flags the engine may pass to any plugin (logging, tracing) and the real host's -root; the stand-in
	// accepts them so the command line the CLI builds is never refused, and uses only the root.
	flags := flag.NewFlagSet("pulumi-language-python", flag.ExitOnError)
	flags.Bool("logtostderr", false, "log to stderr (accepted, unused)")
	flags.Int("v", 0, "log verbosity (accepted, unused)")
	flags.String("tracing", "", "tracing endpoint (accepted, unused)")
	root := flags.String("root", "", "project root directory")
	_ = flags.Parse(os.Args[1:])

	h := &host{rootDirectory: *root}
	// The engine's address is the last positional argument (buildArgsForNewPlugin in the sdk).
	if args := flags.Args(); len(args) > 0 {
		h.engineAddress = args[len(args)-1]
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: cannot listen on 127.0.0.1: %v\n", err)
		os.Exit(1)
	}
	server := grpc.NewServer(grpc.MaxRecvMsgSize(400 * 1024 * 1024))
	pulumirpc.RegisterLanguageRuntimeServer(server, h)
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", listener.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(listener); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: gRPC server stopped: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	if req.RootDirectory != nil {
		h.rootDirectory = req.GetRootDirectory()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
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
	rootDirectory := firstNonEmpty(info.GetRootDirectory(), h.rootDirectory, req.GetPwd())
	programDirectory := firstNonEmpty(info.GetProgramDirectory(), rootDirectory)
	program := firstNonEmpty(info.GetEntryPoint(), req.GetProgram(), ".")
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
	flag("engine", h.engineAddress)
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
	cmd.Dir = firstNonEmpty(req.GetPwd(), programDirectory)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(environment, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == userActionableExit:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d",
			exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start the Python program (%s %s): %v",
			python, shim, err)}, nil
	}
}

// pythonFor returns the interpreter that runs the program and the environment to run it in: the `virtualenv`
// runtime option of Pulumi.yaml (relative to the project root) when set, as the real host does, otherwise
// PULUMI_PYTHON_CMD or python3 from PATH.
func pythonFor(rootDirectory string, options map[string]any) (string, []string, error) {
	environment := os.Environ()
	virtualenv, _ := options["virtualenv"].(string)
	if virtualenv == "" {
		return firstNonEmpty(os.Getenv("PULUMI_PYTHON_CMD"), "python3"), environment, nil
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

func firstNonEmpty(values ...string) string {
	for _, value := range values {
		if value != "" {
			return value
		}
	}
	return ""
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
