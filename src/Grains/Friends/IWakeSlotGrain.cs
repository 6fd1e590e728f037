using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Stepcast.Grains.Friends;

/// <summary>
/// The friends of one channel whose next step falls due in one minute, one shard of them, keyed
/// <c>{channelId}/{yyyyMMddHHmm}/{shard}</c> (see <see cref="WakeSlots"/>). A friend waiting longer than
/// <see cref="EngineOptions.WakeSlotHorizon"/> lists itself here instead of keeping a reminder of its own: a cohort of a
/// million due at 10:00 is then 16 reminders per minute rather than a million, which Orleans would hold in one silo's
/// memory (~6.5 kB each) from ten minutes before, and the slot wakes its friends a bounded number at a time rather
/// than all in the same second.
/// </summary>
public interface IWakeSlotGrain : IGrainWithStringKey
{
    /// <summary>Lists the friend; answers once that is persisted and the slot's reminder is registered. Idempotent.</summary>
    Task Add(string lineUserId);

    /// <summary>
    /// Posted by the slot to itself when its reminder fires: wakes its friends inside a call, so that the runtime sees the
    /// slot busy until the pass ends. A pass run beside the call looked idle, and Orleans' shedding under memory pressure
    /// (which ignores DelayDeactivation) collected the slot halfway and left the rest of its friends to the next tick.
    /// A pass already running is joined, not started again.
    /// </summary>
    [OneWay]
    Task Pass();

    /// <summary>The ids listed and not yet woken, for tests and operators; a woken slot lists none.</summary>
    [ReadOnly]
    Task<ImmutableArray<string>> List();
}

/// <summary>A sealed page of a wake slot, keyed <c>{slotKey}/{page}</c>: written once, read when the slot fires, then cleared.</summary>
public interface IWakeSlotPageGrain : IGrainWithStringKey
{
    Task Store(ImmutableArray<string> lineUserIds);

    [ReadOnly]
    Task<ImmutableArray<string>> List();

    Task Clear();
}

public static class WakeSlots
{
    /// <summary>Slots per channel and minute: a cohort's wake-ups spread over as many grains (and silos).</summary>
    public const int Shards = 16;

    /// <summary>
    /// Ids a slot keeps in its own row before sealing them into a page: each listing rewrites that row, so it stays as
    /// small as the friend directory's (<see cref="FriendDirectory.PageSize"/>, where 256 cost ~8 % of a host's CPU).
    /// </summary>
    public const int PageSize = 64;

    public const string SlotStateName = "wake-slot";
    public const string PageStateName = "wake-slot-page";

    /// <summary>
    /// The slot that wakes a step due at <paramref name="dueAt"/>: the first whole minute at or after it, so a step is
    /// never woken early (which would cost the friend a write to wait out the rest) and at most a minute late.
    /// </summary>
    public static DateTimeOffset SlotFor(DateTimeOffset dueAt)
    {
        var utc = dueAt.ToUniversalTime();
        var minute = new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        return minute == utc ? minute : minute.AddMinutes(1);
    }

    public static IWakeSlotGrain Slot(IGrainFactory grains, FriendKey friend, DateTimeOffset slot) =>
        grains.GetGrainInSilo<IWakeSlotGrain>(KeyOf(friend.ChannelId, slot, FriendDirectory.BucketOf(friend.LineUserId) % Shards));

    public static string KeyOf(string channelId, DateTimeOffset slot, int shard) =>
        $"{channelId}/{slot.UtcDateTime:yyyyMMddHHmm}/{shard}";

    /// <summary>Reads a slot key back: the channel (which may itself contain '/'), the slot's minute.</summary>
    public static (string ChannelId, DateTimeOffset Slot) Parse(string key)
    {
        var shardAt = key.LastIndexOf('/');
        var minuteAt = key.LastIndexOf('/', shardAt - 1);
        var minute = DateTime.ParseExact(key[(minuteAt + 1)..shardAt], "yyyyMMddHHmm", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
        return (key[..minuteAt], new DateTimeOffset(minute, TimeSpan.Zero));
    }

    public static IWakeSlotPageGrain Page(IGrainFactory grains, string slotKey, int page) =>
        grains.GetGrainInSilo<IWakeSlotPageGrain>($"{slotKey}/{page}");
}
