using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Stepcast.Tests.Domain;

namespace Stepcast.Tests.Deployment;

/// <summary>
/// An overlay of <c>deploy/k8s</c> as <c>kubectl kustomize</c> renders it, checked offline against the Kubernetes
/// schemas by <c>tests/k8s/validate-manifests.mjs</c> (npm package kubernetes-models, installed by test.sh).
/// </summary>
internal sealed record RenderedManifests(string Overlay, IReadOnlyList<JsonObject> Objects, IReadOnlyList<string> SchemaErrors)
{
    private static readonly ConcurrentDictionary<string, Lazy<RenderedManifests>> Cache = new();

    public static RenderedManifests Of(string overlay) =>
        Cache.GetOrAdd(overlay, o => new Lazy<RenderedManifests>(() => Render(o))).Value;

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject Single(string kind, string name) =>
        Assert.Single(OfKind(kind), o => (string?)o["metadata"]?["name"] == name);

    private static RenderedManifests Render(string overlay)
    {
        var root = RepositoryRoot.Path;
        var validator = Path.Combine(root, "tests", "k8s", "validate-manifests.mjs");
        Assert.True(Directory.Exists(Path.Combine(root, "tests", "k8s", "node_modules", "kubernetes-models")),
            "The schema validator is not installed: run `npm ci --prefix tests/k8s` (test.sh does).");

        var yaml = Run("kubectl", ["kustomize", Path.Combine(root, "deploy", "k8s", "overlays", overlay)], stdin: null, root, out var renderError, out var renderExit);
        Assert.True(renderExit == 0, $"kubectl kustomize {overlay} failed: {renderError}");

        var json = Run("node", [validator], yaml, root, out var validateError, out _);
        var result = JsonNode.Parse(json)?.AsObject()
            ?? throw new InvalidOperationException($"The validator printed nothing: {validateError}");
        return new RenderedManifests(
            overlay,
            [.. result["objects"]!.AsArray().Select(o => o!.AsObject())],
            [.. result["errors"]!.AsArray().Select(e => (string)e!)]);
    }

    private static string Run(string fileName, string[] arguments, string? stdin, string workingDirectory, out string stderr, out int exitCode)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        process.WaitForExit();
        stderr = error.Result;
        exitCode = process.ExitCode;
        return output.Result;
    }
}
