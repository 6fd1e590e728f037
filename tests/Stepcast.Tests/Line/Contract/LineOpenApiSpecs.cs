namespace Stepcast.Tests.Line.Contract;

/// <summary>
/// Locates LINE's OpenAPI specs, which are referenced, not copied, into the repository: <c>LINE_OPENAPI_DIR</c>, or
/// <c>../shared/line-openapi</c> next to the repository root (the folder holding Orleans.sln).
/// </summary>
internal static class LineOpenApiSpecs
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The specs folder, or null when it is absent (e.g. a user's own clone).</summary>
    public static string? Directory { get; } = FindSpecs();

    public static string SkipReason =>
        "LINE OpenAPI specs not found: set LINE_OPENAPI_DIR or place github.com/line/line-openapi at ../shared/line-openapi";

    public static string Spec(string fileName) => Path.Combine(Directory ?? throw new InvalidOperationException(SkipReason), fileName);

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Orleans.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"Orleans.sln not found above {AppContext.BaseDirectory}.");
    }

    private static string? FindSpecs()
    {
        var configured = Environment.GetEnvironmentVariable("LINE_OPENAPI_DIR");
        var directory = string.IsNullOrEmpty(configured)
            ? Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "line-openapi"))
            : Path.GetFullPath(configured);
        return File.Exists(Path.Combine(directory, "messaging-api.yml")) ? directory : null;
    }
}

/// <summary>A contract test: reported as skipped, with the reason, when the LINE specs are not available.</summary>
public sealed class ContractFactAttribute : FactAttribute
{
    public ContractFactAttribute()
    {
        if (LineOpenApiSpecs.Directory is null)
        {
            Skip = LineOpenApiSpecs.SkipReason;
        }
    }
}
