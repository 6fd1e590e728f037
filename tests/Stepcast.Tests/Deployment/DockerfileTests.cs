using System.Text.RegularExpressions;
using Stepcast.Tests.Domain;

namespace Stepcast.Tests.Deployment;

/// <summary>
/// The images cannot be built here (no container engine), so their Dockerfiles are read: multi-stage, a runtime
/// stage without the SDK, a non-root user, an entry point the build really produces, and sources that exist.
/// </summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string, string> Images => new()
    {
        { "silo.Dockerfile", "src/Silo/Stepcast.Silo.csproj" },
        { "api.Dockerfile", "src/Api/Stepcast.Api.csproj" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Image_builds_in_one_stage_and_runs_the_published_host_as_a_non_root_user_in_another(string dockerfile, string project)
    {
        var lines = Instructions(dockerfile);
        var stages = lines.Select((line, index) => (line, index)).Where(l => l.line.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.True(stages.Count >= 2, "not a multi-stage build");
        var runtime = lines.Skip(stages[^1].index).ToList();

        Assert.Matches("^FROM mcr.microsoft.com/dotnet/aspnet:10\\.0", runtime[0]);
        Assert.Contains(lines.Take(stages[^1].index), l => l.StartsWith("RUN dotnet publish " + project, StringComparison.Ordinal));
        var user = Assert.Single(runtime, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotMatch("^USER (root|0)(:|$)", user);
        var dll = Path.GetFileNameWithoutExtension(project) + ".dll";
        Assert.Equal($"ENTRYPOINT [\"dotnet\", \"{dll}\"]", Assert.Single(runtime, l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Everything_the_image_copies_from_the_build_context_exists(string dockerfile, string project)
    {
        var sources = Instructions(dockerfile)
            .Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]);

        Assert.Contains(project, sources);
        Assert.All(sources, source => Assert.True(
            File.Exists(Path.Combine(RepositoryRoot.Path, source)) || Directory.Exists(Path.Combine(RepositoryRoot.Path, source)),
            $"{dockerfile} copies {source}, which is not in the repository"));
    }

    /// <summary>Instructions without comments, continuation lines joined.</summary>
    private static List<string> Instructions(string dockerfile)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "deploy", "docker", dockerfile));
        return [.. Continuation().Replace(text, " ").Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))];
    }

    [GeneratedRegex("\\\\\\r?\\n")]
    private static partial Regex Continuation();
}
