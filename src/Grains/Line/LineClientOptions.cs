namespace Stepcast.Grains.Line;

/// <summary>
/// Where the LINE Messaging API lives and how long one call may take. Bound from the <c>Line</c> configuration
/// section (<c>Line:ApiBaseUrl</c>, <c>Line:DataApiBaseUrl</c>, <c>Line:Timeout</c>) so load runs and tests can point
/// the client at a fake server or a Prism mock without code changes.
/// </summary>
public sealed class LineClientOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "Line";

    /// <summary>Base URL of api.line.me (sending, profile, quota, audience JSON upload).</summary>
    public Uri ApiBaseUrl { get; set; } = new("https://api.line.me");

    /// <summary>
    /// Base URL of api-data.line.me. LINE serves content downloads and file uploads from this host; none of the
    /// operations the engine uses today need it, but it is configured with the API base so a load run can redirect both.
    /// </summary>
    public Uri DataApiBaseUrl { get; set; } = new("https://api-data.line.me");

    /// <summary>
    /// How long one call may take before it is reported as <see cref="LineResultKind.Timeout"/>. Kept well below
    /// Orleans' default grain call timeout (30 s) so a slow LINE does not turn into a grain timeout. A call first
    /// waits at most as long again for a turn (<see cref="MaxConnections"/>), else it is <see cref="LineResultKind.NotSent"/>.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Connections this process keeps open to one LINE host at most; further calls wait for a free one. Without a
    /// bound, a burst of due friends opened a connection per concurrent push (thousands), and connecting cost more
    /// host CPU than the pushes. At LINE's usual latencies 256 connections carry several thousand calls a second.
    /// </summary>
    public int MaxConnections { get; set; } = 256;
}
