using System.Collections.Immutable;

namespace Stepcast.Grains.Channels;

/// <summary>
/// At most <see cref="Messages"/> pushes to one friend within any rolling <see cref="Window"/>, across all scenarios
/// of the channel (e.g. 1 a day and 3 a week). A capped step is deferred to the next allowed time, never dropped.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record FrequencyCap
{
    /// <summary>The largest cap a channel may set: each friend remembers this many recent pushes.</summary>
    public const int MaxMessages = 50;

    [Id(0)] public required int Messages { get; init; }
    [Id(1)] public required TimeSpan Window { get; init; }

    /// <summary>
    /// The earliest time at or after <paramref name="now"/> when one more push keeps every cap, given the friend's
    /// recent push times (any order).
    /// </summary>
    public static DateTimeOffset NextAllowed(ImmutableArray<FrequencyCap> caps, IReadOnlyList<DateTimeOffset> recentSends, DateTimeOffset now)
    {
        if (caps.IsDefaultOrEmpty || recentSends.Count == 0)
        {
            return now;
        }

        var newestFirst = recentSends.OrderDescending().ToArray();
        var allowed = now;
        foreach (var cap in caps)
        {
            // With n sends already inside the window, the n-th newest must leave it before one more fits.
            var inWindow = newestFirst.Count(at => at > now - cap.Window);
            if (cap.Messages <= 0 || inWindow < cap.Messages)
            {
                continue;
            }

            var mustExpire = newestFirst[cap.Messages - 1] + cap.Window;
            if (mustExpire > allowed)
            {
                allowed = mustExpire;
            }
        }

        return allowed;
    }

    /// <summary>The longest window: sends older than this no longer matter.</summary>
    public static TimeSpan LongestWindow(ImmutableArray<FrequencyCap> caps) =>
        caps.IsDefaultOrEmpty ? TimeSpan.Zero : caps.Max(c => c.Window);
}
