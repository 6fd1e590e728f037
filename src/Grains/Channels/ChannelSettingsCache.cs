using System.Collections.Concurrent;

namespace Stepcast.Grains.Channels;

/// <summary>
/// A process-local cache of channel settings (webhook secrets, access tokens), so a webhook or a push does not
/// cost a grain call. Entries live for <see cref="TimeToLive"/>; a channel configured through this process is
/// refreshed at once, other processes see it within the time to live.
/// </summary>
public sealed class ChannelSettingsCache(IGrainFactory grains, TimeProvider timeProvider)
{
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, (ChannelSettings? Settings, DateTimeOffset FetchedAt)> _entries = new(StringComparer.Ordinal);

    /// <summary>The channel's settings, or null when the channel is not registered.</summary>
    public async ValueTask<ChannelSettings?> GetAsync(string channelId)
    {
        var now = timeProvider.GetUtcNow();
        if (_entries.TryGetValue(channelId, out var entry) && now - entry.FetchedAt < TimeToLive)
        {
            return entry.Settings;
        }

        var settings = await grains.GetGrain<IChannelGrain>(channelId).GetSettings();
        _entries[channelId] = (settings, now);
        return settings;
    }

    public async Task ConfigureAsync(ChannelSettings settings)
    {
        await grains.GetGrain<IChannelGrain>(settings.ChannelId).Configure(settings);
        _entries[settings.ChannelId] = (settings, timeProvider.GetUtcNow());
    }
}
