using System.Globalization;

namespace Stepcast.LoadHarness;

/// <summary>The harness's command line: <c>mode --name value …</c>.</summary>
public sealed class HarnessArgs(string[] args)
{
    public string Mode => args.Length > 0 ? args[0] : "";

    /// <summary>Every argument, for a mode that runs another with an option added.</summary>
    public IReadOnlyList<string> All => args;

    public int Int(string name, int fallback) =>
        String(name) is { } text && int.TryParse(text, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    public string? String(string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    /// <summary>A switch without a value, e.g. <c>--ready-to-run</c>.</summary>
    public bool Flag(string name) => Array.IndexOf(args, name) >= 0;

    public IReadOnlyList<int> Ints(string name, IReadOnlyList<int> fallback) =>
        String(name) is { } text
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(part => int.Parse(part, CultureInfo.InvariantCulture)).ToList()
            : fallback;
}
