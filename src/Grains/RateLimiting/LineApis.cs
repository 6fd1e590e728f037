namespace Stepcast.Grains.RateLimiting;

/// <summary>
/// The LINE endpoints that have their own rate limit, by the name the limiter and <see cref="RateLimitOptions"/> use.
/// LINE counts each endpoint separately per channel, so each name is a separate budget.
/// </summary>
public static class LineApis
{
    public const string Push = "push";
    public const string Multicast = "multicast";
    public const string Narrowcast = "narrowcast";
    public const string Broadcast = "broadcast";
    public const string Profile = "profile";
}
