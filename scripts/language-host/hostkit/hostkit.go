// Package hostkit is what the stand-in language hosts (the Python one at the module's root, the Node.js one in
// nodejs/) share: the plugin's command line and gRPC server, the engine handshake and plugin info, how a program's
// exit becomes a RunResponse, streaming an install's output, and writing a generated SDK.
package hostkit

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version is the CLI release the stand-ins were written against (scripts/build-pulumi builds them with it).
const Version = "3.274.1"

// UserActionableExit is the exit code with which a language's program runner says it already showed the user the
// error (32 in both the Python exec shim and @pulumi/pulumi's runner): the engine then adds nothing.
const UserActionableExit = 32

// Base holds what the engine tells every host (its address, the project root) and answers the handshake; a host
// embeds it for the LanguageRuntime methods it does not implement to answer Unimplemented.
type Base struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	EngineAddress string
	// RootDirectory is where Pulumi.yaml is, from the command line or the handshake; requests carry it too.
	RootDirectory string
}

func (b *Base) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	b.EngineAddress = req.GetEngineAddress()
	if req.RootDirectory != nil {
		b.RootDirectory = req.GetRootDirectory()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (b *Base) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// Serve reads the plugin command line into base, serves host on a free port of 127.0.0.1 and prints that port
// on stdout, the way the engine expects every plugin to. It returns when the server stops.
func Serve(name string, base *Base, host pulumirpc.LanguageRuntimeServer) {
	// The flags the engine may pass to any plugin (logging, tracing) and the real hosts' -root; accepted so the
	// command line the CLI builds is never refused, of which only the root is used.
	flags := flag.NewFlagSet(name, flag.ExitOnError)
	flags.Bool("logtostderr", false, "log to stderr (accepted, unused)")
	flags.Int("v", 0, "log verbosity (accepted, unused)")
	flags.String("tracing", "", "tracing endpoint (accepted, unused)")
	root := flags.String("root", "", "project root directory")
	_ = flags.Parse(os.Args[1:])
	base.RootDirectory = *root
	// The engine's address is the last positional argument (buildArgsForNewPlugin in the sdk).
	if args := flags.Args(); len(args) > 0 {
		base.EngineAddress = args[len(args)-1]
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot listen on 127.0.0.1: %v\n", name, err)
		os.Exit(1)
	}
	server := grpc.NewServer(grpc.MaxRecvMsgSize(400 * 1024 * 1024))
	pulumirpc.RegisterLanguageRuntimeServer(server, host)
	fmt.Printf("%d\n", listener.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(listener); err != nil {
		fmt.Fprintf(os.Stderr, "%s: gRPC server stopped: %v\n", name, err)
		os.Exit(1)
	}
}

// RunResponse turns how a program's process ended into what Run answers: nothing on success, Bail when the
// program's runner already showed the error, otherwise the exit code or why it could not start.
func RunResponse(err error, command string) *pulumirpc.RunResponse {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}
	case errors.As(err, &exitErr) && exitErr.ExitCode() == UserActionableExit:
		return &pulumirpc.RunResponse{Bail: true}
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d",
			exitErr.ExitCode())}
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start the program (%s): %v", command, err)}
	}
}

// InstallDependencies streams install's output to the CLI between the real hosts' header and footer lines
// (`pulumi install`, `package add`, a plugin's first run).
func InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
	install func(ctx context.Context, stdout, stderr io.Writer) error,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	fmt.Fprintf(stdout, "Installing dependencies...\n\n")
	if err := install(server.Context(), stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

// GeneratePackage binds the request's schema with the engine's schema loader for referenced packages, hands it
// to a language's code generator and writes the files it returns into the requested directory
// (`pulumi package gen-sdk`, and `package add`).
func GeneratePackage(req *pulumirpc.GeneratePackageRequest,
	generate func(*schema.Package, schema.ReferenceLoader) (map[string][]byte, error),
) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("reading the package schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, schema.NewCachedLoader(loader),
		schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
	}
	files, err := generate(pkg, schema.NewCachedLoader(loader))
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		path := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
}

// LinkedPackage loads the definition of a package that Link is asked to add to a program, through the engine's
// schema loader, with the language's own schema section (importer) decoded.
func LinkedPackage(ctx context.Context, loader schema.ReferenceLoader, descriptor *pulumirpc.PackageDependency,
	language string, importer schema.Language,
) (schema.PackageReference, *schema.Package, error) {
	desc := &schema.PackageDescriptor{Name: descriptor.GetName(), DownloadURL: descriptor.GetServer()}
	if v, err := semver.New(descriptor.GetVersion()); err == nil {
		desc.Version = v
	}
	ref, err := schema.LoadPackageReferenceV2(ctx, loader, desc)
	if err != nil {
		return nil, nil, err
	}
	pkg, err := ref.Definition()
	if err != nil {
		return nil, nil, err
	}
	if err := pkg.ImportLanguages(map[string]schema.Language{language: importer}); err != nil {
		return nil, nil, err
	}
	return ref, pkg, nil
}

// FirstNonEmpty returns the first of values that is not empty.
func FirstNonEmpty(values ...string) string {
	for _, value := range values {
		if value != "" {
			return value
		}
	}
	return ""
}
