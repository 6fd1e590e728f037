namespace Stepcast.Grains.RateLimiting;

/// <summary>
/// The one place in the cluster that hands out a channel's permits for one LINE API, keyed
/// <c>{channelId}/{api}</c> (<see cref="RateLimitKey"/>). Silos lease permits in batches through
/// <see cref="ChannelRateLimiter"/>; nothing calls this grain per request.
/// </summary>
public interface IRateLimitGrain : IGrainWithStringKey
{
    /// <summary>Leases up to <paramref name="wanted"/> permits of the earliest slot that has any left.</summary>
    Task<RateLease> Lease(int wanted);
}

public static class RateLimitKey
{
    public static string Format(string channelId, string api) => $"{channelId}/{api}";

    /// <summary>The API part of a key; channel ids never contain '/', API names neither.</summary>
    public static string ApiOf(string key) => key[(key.LastIndexOf('/') + 1)..];
}
