using Microsoft.Extensions.Configuration;

namespace Stepcast.FakeLine;

/// <summary>How the fake LINE server behaves. Standalone, read from the <c>FakeLine</c> configuration section.</summary>
public sealed record FakeLineOptions
{
    /// <summary>
    /// URL to listen on. Null: the <c>urls</c> setting (<c>--urls</c>) or, failing that, <c>http://127.0.0.1:0</c>
    /// (a free loopback port, read back through <see cref="FakeLineServer.BaseUrl"/>).
    /// </summary>
    public string? Url { get; init; }

    /// <summary>
    /// Monthly message limit of every channel (token) without its own limit; null for unlimited. Past it, sends
    /// answer 429 "You have reached your monthly limit.", as LINE does.
    /// </summary>
    public long? MonthlyQuota { get; init; }

    /// <summary>Requests per second allowed per channel and endpoint; null for no rate limit. Past it: 429 "Too Many Requests".</summary>
    public int? RateLimitPerSecond { get; init; }

    /// <summary>How many messages a broadcast or narrowcast counts against the quota (the fake has no friend list).</summary>
    public int BroadcastRecipientCount { get; init; } = 1;

    /// <summary>Clock for quota months, rate-limit windows and timestamps.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Reads options from the <c>FakeLine</c> section (<c>--FakeLine:MonthlyQuota=1000</c>, …).</summary>
    public static FakeLineOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection("FakeLine");
        return new FakeLineOptions
        {
            Url = section["Url"],
            MonthlyQuota = long.TryParse(section["MonthlyQuota"], out var quota) ? quota : null,
            RateLimitPerSecond = int.TryParse(section["RateLimitPerSecond"], out var rate) ? rate : null,
            BroadcastRecipientCount = int.TryParse(section["BroadcastRecipientCount"], out var count) ? count : 1,
        };
    }
}
